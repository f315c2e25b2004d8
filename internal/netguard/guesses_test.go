package netguard

import (
	"testing"
	"time"
)

func TestGuessesInParallelGainNothing(t *testing.T) {
	g := NewGuesses()
	now := time.Unix(1000, 0)
	for i := range FreeGuesses {
		if w := g.Begin("10.0.0.1", now); w != 0 {
			t.Fatalf("login %d in parallel: wait %v", i, w)
		}
	}
	// The fourth in parallel counts the three in flight as wrong.
	if w := g.Begin("10.0.0.1", now); w != 0 {
		t.Fatalf("fourth: wait %v", w)
	}
	if w := g.Begin("10.0.0.1", now); w <= 0 {
		t.Fatal("a fifth login in parallel was let through")
	}
	// Past the wait, still no more than MaxPending in flight.
	if w := g.Begin("10.0.0.1", now.Add(time.Hour)); w <= 0 {
		t.Fatalf("a login past the wait with %d in flight was let through", MaxPending)
	}
	if w := g.Begin("10.0.0.2", now); w != 0 {
		t.Fatalf("another address waits %v", w)
	}
	for range 4 {
		g.End("10.0.0.1", LoginFailed, now)
	}
	if w := g.Begin("10.0.0.1", now.Add(500*time.Millisecond)); w <= 0 {
		t.Fatal("no wait after four wrong passwords")
	}
	// A quiet quarter of an hour forgets.
	if w := g.Begin("10.0.0.1", now.Add(guessForget+2*maxGuessWait)); w != 0 {
		t.Fatalf("still waiting %v after %v", w, guessForget)
	}
}

// TestServerErrorsAreLogged: the HTTP server's own complaints (here a client
// that speaks HTTP to the HTTPS view) reach the log at Warn.
