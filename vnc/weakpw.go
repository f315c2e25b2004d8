package vnc

import (
	"strings"
	"unicode"
)

// vncWords are words that passwords are commonly made of: a password made of
// them (and digits or symbols) falls to a dictionary attack, and VNC's 8
// characters leave no room to hide one.
var vncWords = []string{
	"pass", "password", "passwd", "pw", "pwd", "secret", "vnc", "x11", "remote", "desktop",
	"admin", "root", "user", "guest", "login", "test", "demo", "image", "default", "change",
	"changeme", "me", "letmein", "let", "in", "welcome", "hello", "qwerty", "azerty", "asdf",
	"abc", "abcd", "iloveyou", "love", "god", "dragon", "monkey", "master", "shadow", "sunshine",
	"princess", "football", "baseball", "soccer", "super", "superman", "batman", "trustno",
	"one", "access", "open", "sesame", "key", "token", "server", "linux", "ubuntu", "debian",
	"docker", "kube", "cluster", "pod", "node", "gpu", "nvidia", "cuda", "sim", "simulator",
	"game", "view", "viewer", "screen", "display", "xinit", "char", "chars", "word", "code",
	"pin", "foo", "bar", "baz", "temp", "tmp", "new", "old", "my", "the", "a", "i",
}

// leet undoes the usual digit-for-letter substitutions.
var leet = strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s", "!", "i")

// weakPassword says why a VNC password is weak, "" when it is not. Only
// its first 8 characters count: those are judged.
func weakPassword(pw string) string {
	if len(pw) > 8 {
		pw = pw[:8]
	}
	switch {
	case len(pw) < 6:
		return "it is shorter than 6 characters"
	case strings.Trim(pw, "0123456789") == "":
		return "it is digits only"
	}
	distinct := map[rune]bool{}
	for _, r := range pw {
		distinct[r] = true
	}
	if len(distinct) < 5 {
		return "it repeats too few characters"
	}
	if madeOfWords(strings.ToLower(pw)) || madeOfWords(leet.Replace(strings.ToLower(pw))) {
		return "it is made of common words"
	}
	return ""
}

// madeOfWords reports whether s is dictionary words and filler (digits and
// symbols), the last word perhaps cut short by VNC's 8 characters; at least
// half of s must be words.
func madeOfWords(s string) bool {
	letters := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters++
		}
	}
	if letters*2 < len(s) {
		return false
	}
	var split func(rest string) bool
	split = func(rest string) bool {
		if rest == "" {
			return true
		}
		if r := rune(rest[0]); !unicode.IsLetter(r) {
			return split(rest[1:])
		}
		for _, w := range vncWords {
			if strings.HasPrefix(rest, w) && split(rest[len(w):]) {
				return true
			}
			// The password's end cuts a word short.
			if len(rest) >= 3 && len(rest) < len(w) && strings.HasPrefix(w, rest) {
				return true
			}
		}
		return false
	}
	return split(s)
}
