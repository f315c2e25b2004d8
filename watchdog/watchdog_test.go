package watchdog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xinit-go/xinit-go/internal/testutil"
	"github.com/xinit-go/xinit-go/xscreen"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type sample struct {
	at    time.Duration
	hash  uint64
	black bool
	fire  bool // expected
	// stalled: the X server did not answer (hash and black are ignored)
	stalled bool
}

func TestObserve(t *testing.T) {
	const timeout = 3 * time.Second
	cases := []struct {
		name     string
		appStart time.Duration
		samples  []sample
	}{
		{"a changing picture never fires", 0, []sample{
			{0, 1, false, false, false}, {time.Second, 2, false, false, false}, {5 * time.Second, 3, false, false, false}, {10 * time.Second, 4, false, false, false}}},
		{"an unchanged picture fires once at the timeout", 0, []sample{
			{0, 1, false, false, false}, {2 * time.Second, 1, false, false, false}, {3 * time.Second, 1, false, true, false},
			{4 * time.Second, 1, false, false, false}, {60 * time.Second, 1, false, false, false}}},
		{"a change re-arms it", 0, []sample{
			{0, 1, false, false, false}, {3 * time.Second, 1, false, true, false}, {4 * time.Second, 2, false, false, false},
			{6 * time.Second, 2, false, false, false}, {7 * time.Second, 2, false, true, false}}},
		{"black for the timeout fires, even when the black changes", 0, []sample{
			{0, 1, true, false, false}, {time.Second, 2, true, false, false}, {2 * time.Second, 3, true, false, false}, {3 * time.Second, 4, true, true, false}}},
		{"black after a picture counts from the first black sample", 0, []sample{
			{0, 1, false, false, false}, {time.Second, 2, false, false, false}, {2 * time.Second, 3, true, false, false},
			{4 * time.Second, 3, true, false, false}, {5 * time.Second, 3, true, true, false}}},
		{"a stalled X server counts as an unchanged picture", 0, []sample{
			{0, 1, false, false, false}, {time.Second, 2, false, false, false}, {2 * time.Second, 0, false, false, true},
			{3 * time.Second, 0, false, false, true}, {4 * time.Second, 0, false, true, true}, {5 * time.Second, 0, false, false, true}}},
		{"a server stalled from the start is frozen a timeout after the app's start", 0, []sample{
			{time.Second, 0, false, false, true}, {2 * time.Second, 0, false, false, true}, {3 * time.Second, 0, false, true, true}}},
		{"a stall that ends on a new picture re-arms it", 0, []sample{
			{0, 1, false, false, false}, {2 * time.Second, 0, false, false, true}, {3 * time.Second, 2, false, false, false},
			{5 * time.Second, 2, false, false, false}, {6 * time.Second, 2, false, true, false}}},
		{"a stall on a black screen stays black", 0, []sample{
			{0, 1, true, false, false}, {2 * time.Second, 0, false, false, true}, {3 * time.Second, 0, true, true, true}}},
		{"the app's (re)start restarts the clock", 10 * time.Second, []sample{
			{0, 1, false, false, false}, {11 * time.Second, 1, false, false, false}, {12 * time.Second, 1, false, false, false}, {13 * time.Second, 1, false, true, false}}},
	}
	// A restarted app on the same frozen picture fires again, a timeout after its start.
	t.Run("a restart re-arms it", func(t *testing.T) {
		var s state
		steps := []struct {
			at, start time.Duration
			fire      bool
		}{{0, 0, false}, {3 * time.Second, 0, true}, {4 * time.Second, 0, false}, {5 * time.Second, 5 * time.Second, false},
			{7 * time.Second, 5 * time.Second, false}, {8 * time.Second, 5 * time.Second, true}}
		for _, x := range steps {
			if fire, _ := observe(&s, t0.Add(x.at), frame{hash: 1, black: true}, t0.Add(x.start), timeout); fire != x.fire {
				t.Fatalf("at +%v: fire %v, want %v", x.at, fire, x.fire)
			}
		}
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s state
			for _, x := range tc.samples {
				fire, f := observe(&s, t0.Add(x.at), frame{hash: x.hash, black: x.black, stalled: x.stalled}, t0.Add(tc.appStart), timeout)
				if fire != x.fire {
					t.Fatalf("at +%v: fire %v, want %v (state %+v)", x.at, fire, x.fire, s)
				}
				if fire && (f.Unchanged < timeout || f.Black != x.black || f.Stalled != x.stalled) {
					t.Fatalf("at +%v: %+v", x.at, f)
				}
			}
		})
	}
}

func TestInterval(t *testing.T) {
	for _, c := range []struct{ timeout, want time.Duration }{
		{time.Second, 200 * time.Millisecond}, {5 * time.Second, time.Second}, {time.Minute, 2 * time.Second}} {
		if got := New(Options{Timeout: c.timeout}).Interval(); got != c.want {
			t.Errorf("timeout %v: interval %v, want %v", c.timeout, got, c.want)
		}
	}
}

// spinner is the hash of a picture that shows 8 frames in turn, each for an
// eighth of period: a clock-timed busy indicator.
func spinner(at, period time.Duration) uint64 { return uint64(at / (period / 8) % 8) }

// TestJitteredSamplesSeeASpinner: an app that shows a spinner turning once per
// sampling interval is alive. Sampled at exact intervals it shows the same
// frame every time and looks frozen (as it did in 3 of 3 runs). The watchdog's
// own schedule (waits from half to one and a half interval, and confirmations
// at random moments before a freeze is called) must not call it frozen in 20
// runs of ten minutes; the rand is seeded so the test is repeatable, and each
// wait is checked to lie within the documented range.
func TestJitteredSamplesSeeASpinner(t *testing.T) {
	w := New(Options{Timeout: 5 * time.Second})
	w.rand = rand.New(rand.NewPCG(1, 2))
	period := w.Interval()
	run := func(wait func() time.Duration, again bool) (fired bool) {
		var s state
		at := time.Duration(0)
		resample := func() (frame, time.Time, bool) {
			if !again {
				return frame{}, time.Time{}, false
			}
			d := time.Duration(w.rand.Float64() * float64(period) / confirmations)
			if d < 0 || d >= period/confirmations {
				t.Fatalf("confirmation wait %v outside [0, %v)", d, period/confirmations)
			}
			at += d
			return frame{hash: spinner(at, period)}, t0.Add(at), true
		}
		for at < 10*time.Minute {
			at += wait()
			now, fr := confirm(&s, t0.Add(at), frame{hash: spinner(at, period)}, t0, w.o.Timeout, resample)
			if fire, _ := observe(&s, now, fr, t0, w.o.Timeout); fire {
				return true
			}
		}
		return false
	}
	// The test can fail: exact intervals see one frame and fire.
	if !run(func() time.Duration { return period }, false) {
		t.Fatal("the spinner sampled at exact intervals did not look frozen: the test proves nothing")
	}
	for i := range 20 {
		if run(func() time.Duration {
			d := w.next()
			if d < period/2 || d >= period*3/2 {
				t.Fatalf("wait %v outside [%v, %v)", d, period/2, period*3/2)
			}
			return d
		}, true) {
			t.Fatalf("run %d: the spinner looked frozen to the watchdog's samples", i)
		}
	}
}

// TestConfirmKeepsAFreeze: the confirmations do not hide a frozen picture, nor
// delay a black or stalled one (those are not resampled).
func TestConfirmKeepsAFreeze(t *testing.T) {
	const timeout = 3 * time.Second
	asked := 0
	same := func() (frame, time.Time, bool) { asked++; return frame{hash: 1}, t0.Add(4 * time.Second), true }
	for _, c := range []struct {
		name  string
		fr    frame
		asked int
	}{
		{"a frozen picture", frame{hash: 1}, confirmations},
		{"a black screen", frame{hash: 1, black: true}, 0},
		{"a stalled server", frame{stalled: true}, 0},
	} {
		asked = 0
		var s state
		observe(&s, t0, frame{hash: 1, black: c.fr.black}, t0, timeout)
		now, fr := confirm(&s, t0.Add(timeout), c.fr, t0, timeout, same)
		if fire, _ := observe(&s, now, fr, t0, timeout); !fire || asked != c.asked {
			t.Errorf("%s: fire %v after %d confirmations, want a freeze after %d", c.name, fire, asked, c.asked)
		}
	}
}

// TestStalledServerIsFrozen: an X server that accepts and stops answering
// (before or after the connection setup) holds no sample past its timeout, and
// is reported frozen (stalled) about a timeout after the app's start.
func TestStalledServerIsFrozen(t *testing.T) {
	for _, b := range []struct {
		name      string
		behaviour int
	}{{"silent", testutil.XSilent}, {"stalled after setup", testutil.XStallAfterSetup}} {
		t.Run(b.name, func(t *testing.T) {
			display := testutil.FreeDisplay(t)
			if err := os.MkdirAll(xscreen.SocketDir, 0o1777); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(xscreen.SocketDir, fmt.Sprintf("X%d", display))
			testutil.FakeX(t, path, b.behaviour)
			t.Cleanup(func() { os.Remove(path) })
			const timeout = time.Second
			started := time.Now()
			frozen := make(chan Frozen, 1)
			w := New(Options{Display: xscreen.Display{Num: display}, Timeout: timeout, Interval: 100 * time.Millisecond,
				SampleTimeout: 200 * time.Millisecond, Log: zaptest.NewLogger(t),
				AppStarted: func() (time.Time, bool) { return started, true },
				OnFrozen:   func(_ context.Context, f Frozen) { frozen <- f }})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); w.Run(ctx) }()
			defer func() { cancel(); <-done }()
			select {
			case f := <-frozen:
				took := time.Since(started)
				if !f.Stalled || f.Unchanged < timeout {
					t.Errorf("%+v", f)
				}
				// Timeout, plus one wait and one sample's timeout at most.
				if took > timeout+150*time.Millisecond+200*time.Millisecond+time.Second {
					t.Errorf("reported after %v", took)
				}
				if st := w.Status(); !st.Frozen || !st.Stalled || st.Error == "" {
					t.Errorf("status %+v", st)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("no freeze 30 s after the server stopped answering; status %+v", w.Status())
			}
		})
	}
}
