package stream

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"testing"
	"time"
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

func TestLimiter(t *testing.T) {
	l := limiter{max: 3, window: time.Minute}
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		if locked, _ := l.locked(t0); locked {
			t.Fatalf("locked after %d failures", i)
		}
		l.fail(t0.Add(time.Duration(i) * time.Second))
	}
	locked, until := l.locked(t0.Add(10 * time.Second))
	if !locked || !until.Equal(t0.Add(time.Minute)) {
		t.Errorf("after 3 failures: locked %v until %v", locked, until)
	}
	if locked, _ := l.locked(t0.Add(time.Minute)); locked {
		t.Error("still locked once the first failure is a window old")
	}
}
