package netguard

import (
	"sync"
	"time"
)

// Password guessing: VNC's DES passwords are short, so each client address
// gets FreeGuesses wrong passwords, then waits before each further attempt,
// twice as long each time up to maxGuessWait; and holds at most MaxPending
// unfinished logins at once. A right password clears it; so does a quiet
// guessForget. One Guesses serves every endpoint that checks the password (the
// VNC bridge and the smooth view), so two endpoints give no more guesses than
// one.
const (
	FreeGuesses  = 3
	MaxPending   = FreeGuesses + 1
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

// Outcome is what a login came to.
type Outcome int

const (
	LoginOK     Outcome = iota
	LoginFailed         // the password was wrong
	LoginBroken         // ended before a result: closed, timed out, or not the protocol
)

// Guesses is the per-client record; its methods take the time. Safe for
// concurrent use.
type Guesses struct {
	mu sync.Mutex
	m  map[string]*guessState
}

// NewGuesses returns an empty record.
func NewGuesses() *Guesses { return &Guesses{m: map[string]*guessState{}} }

func guessWait(over int) time.Duration {
	if over > 7 {
		return maxGuessWait
	}
	return min(time.Second<<(over-1), maxGuessWait)
}

// Begin is called before a login: 0 lets it go (the caller must call End), a
// positive duration is how long the client must wait first. Logins in flight
// count as wrong until they end, so parallel connections gain nothing, and a
// client with MaxPending of them waits for one to end.
func (g *Guesses) Begin(client string, now time.Time) time.Duration {
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
	if st.pending >= MaxPending {
		return time.Second
	}
	if st.pending == 0 && now.Sub(st.last) > guessForget {
		st.fails = 0
	}
	st.pending++
	st.last = now
	if over := st.fails + st.pending - FreeGuesses; over > 0 {
		st.until = now.Add(guessWait(over))
	}
	return 0
}

// End records the outcome of a login Begin let go.
func (g *Guesses) End(client string, o Outcome, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.m[client]
	if st == nil {
		return
	}
	st.pending--
	st.last = now
	switch o {
	case LoginOK:
		st.fails, st.until = 0, time.Time{}
	case LoginFailed:
		st.fails++
		if over := st.fails + st.pending - FreeGuesses; over > 0 {
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
func (g *Guesses) prune(now time.Time) {
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
