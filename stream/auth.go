package stream

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"sync"
)

// The login: the page proves it knows the password without sending it. The
// server sends a salt (random for each xinit-go run), an iteration count and
// a nonce (random for each connection); the page derives
// key = PBKDF2-HMAC-SHA256(password, salt, iterations, 32 bytes) and answers
// HMAC-SHA256(key, loginLabel || nonce). The password itself never crosses the
// wire, and a captured answer is good for no other connection.
const (
	loginLabel = "xinit-view login v1"
	// Iterations of PBKDF2: the page derives the key once per login, and an
	// answer captured from a connection without TLS costs a guesser that much
	// per guess.
	Iterations = 100_000
)

// authenticator checks logins against the key derived from the password. The
// key is derived at the first login (it costs a moment of CPU that a session
// nobody watches need not spend); the password is dropped then.
type authenticator struct {
	salt []byte
	on   bool // a password is set: logins are checked

	once     sync.Once
	password string
	key      []byte
	err      error
}

func newAuthenticator(password string) (*authenticator, error) {
	a := &authenticator{salt: make([]byte, 16), on: password != "", password: password}
	if !a.on {
		return a, nil
	}
	if _, err := rand.Read(a.salt); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *authenticator) derive() ([]byte, error) {
	a.once.Do(func() {
		a.key, a.err = pbkdf2.Key(sha256.New, a.password, a.salt, Iterations, 32)
		a.password = ""
	})
	return a.key, a.err
}

// expect is the answer to nonce.
func (a *authenticator) expect(nonce []byte) []byte {
	key, err := a.derive()
	if err != nil {
		return nil
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(loginLabel))
	m.Write(nonce)
	return m.Sum(nil)
}

func (a *authenticator) check(nonce, answer []byte) bool {
	want := a.expect(nonce)
	return want != nil && hmac.Equal(want, answer)
}
