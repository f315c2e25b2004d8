package supervisor

import (
	"fmt"
	"strings"
	"time"
)

// Policy says when a service that exited on its own is started again.
type Policy int

const (
	// Never restarts: the first exit is final.
	Never Policy = iota
	// OnFailure restarts after a non-zero exit or a death by signal.
	OnFailure
	// Always restarts after any exit.
	Always
)

// ParsePolicy reads "never", "on-failure" or "always".
func ParsePolicy(s string) (Policy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "never", "no":
		return Never, nil
	case "on-failure":
		return OnFailure, nil
	case "always":
		return Always, nil
	}
	return Never, fmt.Errorf("want never, on-failure or always")
}

func (p Policy) String() string {
	switch p {
	case OnFailure:
		return "on-failure"
	case Always:
		return "always"
	default:
		return "never"
	}
}

// Restart is a restart policy with exponential backoff and a budget.
type Restart struct {
	Policy Policy
	// Budget is how many restarts are allowed within Window; one more and the
	// service has failed for good. Zero means DefaultBudget; NoRestarts allows none.
	Budget int
	Window time.Duration
	// The delay before a restart starts at BackoffMin and doubles with each restart
	// in a row, up to BackoffMax. A run that lasted longer than Window resets it.
	BackoffMin time.Duration
	BackoffMax time.Duration
}

// NoRestarts is a Budget that allows no restart at all.
const NoRestarts = -1

// Defaults for the zero fields of Restart.
const (
	DefaultBudget     = 5
	DefaultWindow     = time.Minute
	DefaultBackoffMin = 250 * time.Millisecond
	DefaultBackoffMax = 10 * time.Second
)

func (r Restart) withDefaults() Restart {
	if r.Budget == 0 {
		r.Budget = DefaultBudget
	}
	if r.Window <= 0 {
		r.Window = DefaultWindow
	}
	if r.BackoffMin <= 0 {
		r.BackoffMin = DefaultBackoffMin
	}
	if r.BackoffMax < r.BackoffMin {
		r.BackoffMax = max(DefaultBackoffMax, r.BackoffMin)
	}
	return r
}

// wants reports whether the policy restarts after this exit.
func (r Restart) wants(st ExitStatus) bool {
	switch r.Policy {
	case Always:
		return true
	case OnFailure:
		return !st.Success()
	}
	return false
}

// tracker decides, for one service, whether a restart is within budget and how long
// to wait before it. It holds no clock: callers pass the time, so tests need no sleeps.
type tracker struct {
	r        Restart
	restarts []time.Time // restarts within the window, oldest first
	streak   int         // restarts in a row without a long run in between
}

func newTracker(r Restart) *tracker { return &tracker{r: r.withDefaults()} }

// next records a restart that would happen now, after a run of the given length.
// It returns the backoff before the start, or ok=false when the budget is spent.
func (t *tracker) next(now time.Time, ran time.Duration) (delay time.Duration, ok bool) {
	cut := now.Add(-t.r.Window)
	kept := t.restarts[:0]
	for _, at := range t.restarts {
		if at.After(cut) {
			kept = append(kept, at)
		}
	}
	t.restarts = kept
	if t.r.Budget < 0 || len(t.restarts) >= t.r.Budget {
		return 0, false
	}
	if ran >= t.r.Window {
		t.streak = 0
	}
	delay = t.r.BackoffMin
	for i := 0; i < t.streak && delay < t.r.BackoffMax; i++ {
		delay *= 2
	}
	delay = min(delay, t.r.BackoffMax)
	t.streak++
	t.restarts = append(t.restarts, now)
	return delay, true
}

// spent says why the tracker refused a restart, for the service's last reason.
func (t *tracker) spent() string {
	if t.r.Budget < 0 {
		return "restarts are off"
	}
	return fmt.Sprintf("restart budget spent (%d restarts within %s)", t.r.Budget, t.r.Window)
}
