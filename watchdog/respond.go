package watchdog

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/xinit-go/xinit-go/xscreen"
)

// Action is what a freeze does (XINIT_FREEZE_ACTION).
type Action int

const (
	// Fail ends the session with the freeze's exit code.
	Fail Action = iota
	// Restart restarts the app (its restart budget counts it); a spent budget
	// fails the session as Fail does.
	Restart
	// Log only logs the freeze.
	Log
)

func (a Action) String() string {
	switch a {
	case Restart:
		return "restart"
	case Log:
		return "log"
	}
	return "fail"
}

// ParseAction reads XINIT_FREEZE_ACTION's value: fail, restart or log.
func ParseAction(s string) (Action, error) {
	switch s {
	case "fail":
		return Fail, nil
	case "restart":
		return Restart, nil
	case "log":
		return Log, nil
	}
	return Fail, fmt.Errorf("freeze action %q: want fail, restart or log", s)
}

// Controller is what a freeze acts through; the supervisor's Fail and Restart
// are it.
type Controller interface {
	Fail(ctx context.Context, code int, reason string) error
	Restart(ctx context.Context, service string, failCode int, reason string) error
}

// Responder acts on a freeze or a slow screen: it takes the screen's picture
// (unless the X server does not answer), logs what happened, and does Action.
// Its OnFrozen is the Watchdog's Options.OnFrozen, its OnSlow the Meter's
// MeterOptions.OnSlow; give each its own Responder.
type Responder struct {
	Action  Action
	App     string // the service Restart restarts
	Code    int    // the exit code of a session it ends
	Picture string // where the screen's picture goes
	Display xscreen.Display
	// PictureTimeout bounds the picture.
	PictureTimeout time.Duration
	Ctl            Controller
	Log            *zap.Logger

	frozen atomic.Pointer[Frozen]
	slow   atomic.Pointer[Slow]
}

// Frozen is the last freeze acted on, nil when none.
func (r *Responder) Frozen() *Frozen { return r.frozen.Load() }

// Slow is the last slow stretch acted on, nil when none.
func (r *Responder) Slow() *Slow { return r.slow.Load() }

// OnFrozen acts on f.
func (r *Responder) OnFrozen(ctx context.Context, f Frozen) {
	r.frozen.Store(&f)
	r.act(ctx, "frozen screen: "+f.String(), f.Stalled, zap.Bool("black", f.Black), zap.Bool("stalled", f.Stalled),
		zap.Duration("unchanged", f.Unchanged))
}

// OnSlow acts on s.
func (r *Responder) OnSlow(ctx context.Context, s Slow) {
	r.slow.Store(&s)
	r.act(ctx, "slow screen: "+s.String(), false, zap.Int64("updates", s.Updates), zap.Duration("window", s.Window),
		zap.Float64("per_second", s.PerSecond()))
}

// act takes the picture (unless stalled: the X server does not answer, and a
// picture would only cost the timeout), logs reason and does the action.
func (r *Responder) act(ctx context.Context, reason string, stalled bool, fields ...zap.Field) {
	var err error
	if stalled {
		err = errors.New("not taken: the X server does not answer")
	} else {
		pctx, cancel := context.WithTimeout(ctx, r.PictureTimeout)
		err = xscreen.WritePNG(pctx, r.Display, r.Picture)
		cancel()
	}
	fields = append([]zap.Field{zap.String("action", r.Action.String())}, fields...)
	if err != nil {
		fields = append(fields, zap.NamedError("screenshot", err))
	} else {
		fields = append(fields, zap.String("screenshot", r.Picture))
	}
	switch r.Action {
	case Fail:
		r.Log.Error(reason+"; failing the session", fields...)
		_ = r.Ctl.Fail(ctx, r.Code, reason)
	case Restart:
		r.Log.Error(reason+"; restarting the app", fields...)
		_ = r.Ctl.Restart(ctx, r.App, r.Code, reason)
	default:
		r.Log.Error(reason, fields...)
	}
}
