package web

import (
	"sync"
	"time"
)

// Password guessing: VNC's DES passwords are short, so each client address
// gets freeGuesses wrong passwords, then waits before each further attempt,
// twice as long each time up to maxGuessWait. A right password clears it; so
// does a quiet guessForget.
const (
	freeGuesses  = 3
	maxGuessWait = time.Minute
	guessForget  = 15 * time.Minute
	maxGuessers  = 4096 // client addresses remembered at most
)

type guessState struct {
	fails   int // wrong passwords in a row
	pending int // logins in flight
	until   time.Time
	last    time.Time
}

// guesses is the per-client record; its methods take the time.
type guesses struct {
	mu sync.Mutex
	m  map[string]*guessState
}

func newGuesses() *guesses { return &guesses{m: map[string]*guessState{}} }

func guessWait(over int) time.Duration {
	if over > 7 {
		return maxGuessWait
	}
	return min(time.Second<<(over-1), maxGuessWait)
}

// begin is called before a login: 0 lets it go (the caller must call end), a
// positive duration is how long the client must wait first. Logins in flight
// count as wrong until they end, so parallel connections gain nothing.
func (g *guesses) begin(client string, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.m[client]
	if st == nil {
		g.prune(now)
		st = &guessState{}
		g.m[client] = st
	}
	if now.Before(st.until) {
		return st.until.Sub(now)
	}
	if st.pending == 0 && now.Sub(st.last) > guessForget {
		st.fails = 0
	}
	st.pending++
	st.last = now
	if over := st.fails + st.pending - freeGuesses; over > 0 {
		st.until = now.Add(guessWait(over))
	}
	return 0
}

// end records a login's outcome.
func (g *guesses) end(client string, o loginOutcome, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.m[client]
	if st == nil {
		return
	}
	st.pending--
	st.last = now
	switch o {
	case loginOK:
		st.fails, st.until = 0, time.Time{}
	case loginFailed:
		st.fails++
		if over := st.fails + st.pending - freeGuesses; over > 0 {
			if u := now.Add(guessWait(over)); u.After(st.until) {
				st.until = u
			}
		}
	}
	if st.pending == 0 && st.fails == 0 {
		delete(g.m, client)
	}
}

// prune forgets quiet clients, and the quietest when too many are remembered.
func (g *guesses) prune(now time.Time) {
	if len(g.m) < maxGuessers {
		return
	}
	var oldest string
	for k, st := range g.m {
		if st.pending == 0 && now.Sub(st.last) > guessForget && now.After(st.until) {
			delete(g.m, k)
			continue
		}
		if oldest == "" || st.last.Before(g.m[oldest].last) {
			oldest = k
		}
	}
	if len(g.m) >= maxGuessers && oldest != "" {
		delete(g.m, oldest)
	}
}
