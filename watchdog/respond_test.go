package watchdog

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xinit-go/xinit-go/xscreen"
)

// fakeCtl records what a freeze asked of the supervisor.
type fakeCtl struct{ calls []string }

func (f *fakeCtl) Fail(_ context.Context, code int, reason string) error {
	f.calls = append(f.calls, "fail "+itoa(code)+" "+reason)
	return nil
}

func (f *fakeCtl) Restart(_ context.Context, service string, code int, reason string) error {
	f.calls = append(f.calls, "restart "+service+" "+itoa(code)+" "+reason)
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestResponderActions: each action does what XINIT_FREEZE_ACTION says, and a
// stalled X server gets no picture attempt (it would only cost the timeout).
func TestResponderActions(t *testing.T) {
	stalled := Frozen{Stalled: true, Unchanged: 5 * time.Second}
	for _, c := range []struct {
		action Action
		want   string
	}{
		{Fail, "fail 75 frozen screen: " + stalled.String()},
		{Restart, "restart app 75 frozen screen: " + stalled.String()},
		{Log, ""},
	} {
		ctl := &fakeCtl{}
		r := &Responder{Action: c.action, App: "app", Code: 75, Picture: filepath.Join(t.TempDir(), "frozen.png"),
			// No X server on this display: a picture attempt would fail slowly.
			Display: xscreen.Display{Num: 65000}, PictureTimeout: time.Hour, Ctl: ctl, Log: zaptest.NewLogger(t)}
		start := time.Now()
		r.OnFrozen(context.Background(), stalled)
		if time.Since(start) > 10*time.Second {
			t.Errorf("%v: a stalled server's freeze waited for a picture", c.action)
		}
		got := ""
		if len(ctl.calls) > 0 {
			got = ctl.calls[0]
		}
		if got != c.want || len(ctl.calls) > 1 {
			t.Errorf("%v: calls %q, want %q", c.action, ctl.calls, c.want)
		}
		if f := r.Frozen(); f == nil || *f != stalled {
			t.Errorf("%v: Frozen() = %v", c.action, f)
		}
	}
}

func TestParseAction(t *testing.T) {
	for _, a := range []Action{Fail, Restart, Log} {
		if b, err := ParseAction(a.String()); err != nil || b != a {
			t.Errorf("ParseAction(%q) = %v, %v", a.String(), b, err)
		}
	}
	if _, err := ParseAction("reboot"); err == nil {
		t.Error("ParseAction(reboot): no error")
	}
}
