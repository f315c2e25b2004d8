package supervisor

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// Requests from other goroutines (the frame watchdog) reach the loop on a
// channel it selects on, like signals and readiness results: nothing outside
// the loop's goroutine changes a service.

// ErrNotRunning is returned by a request that the loop can no longer take: Run
// has returned.
var ErrNotRunning = errors.New("supervisor: not running")

type requestKind int

const (
	reqFail requestKind = iota
	reqRestart
)

type request struct {
	kind    requestKind
	service string // reqRestart: the service to restart
	code    int    // reqFail: the exit code; reqRestart: the code when no restart is left, 0 for the usual one
	reason  string
}

// Fail asks the loop to end the set with code and reason, as a failed service
// would: BeforeFinish runs, every service stops in reverse order, and Run
// returns code. It does nothing when the set is stopping already. It waits
// until the loop has taken the request, ctx ends, or Run has returned.
func (s *Supervisor) Fail(ctx context.Context, code int, reason string) error {
	return s.send(ctx, request{kind: reqFail, code: code, reason: reason})
}

// Restart asks the loop to restart a running service: its stop signal, the
// grace, SIGKILL, then a start after the backoff, counted against its restart
// budget whatever its policy. When the budget is spent, the service fails for
// good with reason; for the main service the set then exits with failCode (its
// usual code when failCode is 0). A service that is not starting or ready is
// left alone.
func (s *Supervisor) Restart(ctx context.Context, service string, failCode int, reason string) error {
	return s.send(ctx, request{kind: reqRestart, service: service, code: failCode, reason: reason})
}

func (s *Supervisor) send(ctx context.Context, r request) error {
	select {
	case s.reqC <- r:
		return nil
	case <-s.done:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
}

// onRequest acts on a request in the loop.
func (s *Supervisor) onRequest(r request, now time.Time) {
	if s.stop.on {
		s.log.Info("request ignored: already stopping", zap.String("reason", r.reason))
		return
	}
	switch r.kind {
	case reqFail:
		s.finish(now, r.code, r.reason, false)
	case reqRestart:
		var sv *service
		for _, c := range s.svcs {
			if c.spec.Name == r.service {
				sv = c
			}
		}
		switch {
		case sv == nil:
			s.log.Warn("restart asked for an unknown service", zap.String("service", r.service))
		case sv.state != Starting && sv.state != Ready:
			sv.log.Info("restart asked for; not running, left alone", zap.String("state", string(sv.state)), zap.String("reason", r.reason))
		default:
			sv.log.Warn("restart asked for", zap.String("reason", r.reason))
			sv.forced = &r
			s.sendStop(sv, now)
		}
	}
}
