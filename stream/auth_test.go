package stream

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"testing"
)

// The answer the page computes, computed here from the spec, passes; any other
// password, nonce or answer fails.
func TestAuthenticator(t *testing.T) {
	a, err := newAuthenticator("s3cret-pw")
	if err != nil {
		t.Fatal(err)
	}
	answer := func(pw string, nonce []byte) []byte {
		key, err := pbkdf2.Key(sha256.New, pw, a.salt, Iterations, 32)
		if err != nil {
			t.Fatal(err)
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte("xinit-view login v1"))
		m.Write(nonce)
		return m.Sum(nil)
	}
	nonce := []byte("0123456789abcdef0123456789abcdef")
	if !a.check(nonce, answer("s3cret-pw", nonce)) {
		t.Error("the right answer failed")
	}
	if a.check(nonce, answer("s3cret-pX", nonce)) {
		t.Error("a wrong password passed")
	}
	if a.check([]byte("another nonce"), answer("s3cret-pw", nonce)) {
		t.Error("an answer to another nonce passed")
	}
	if a.check(nonce, nil) {
		t.Error("no answer passed")
	}
	b, _ := newAuthenticator("s3cret-pw")
	if string(a.salt) == string(b.salt) {
		t.Error("two runs share a salt")
	}
}
