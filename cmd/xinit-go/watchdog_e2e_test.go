package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/exitcode"
	"github.com/xinit-go/xinit-go/internal/testutil"
	"github.com/xinit-go/xinit-go/watchdog"
)

type frameDoc struct {
	Frame *struct {
		Sampling  bool    `json:"sampling"`
		Unchanged float64 `json:"unchanged_seconds"`
		Black     bool    `json:"black"`
		Frozen    bool    `json:"frozen"`
		Action    string  `json:"action"`
	} `json:"frame"`
	Services []struct {
		Name     string `json:"name"`
		Restarts int    `json:"restarts"`
	} `json:"services"`
}

func (s *xsession) frame() frameDoc {
	s.t.Helper()
	var d frameDoc
	if code, body := s.get("/status"); code == 200 {
		_ = json.Unmarshal([]byte(body), &d)
	}
	return d
}

// frozenLog finds the watchdog's log line and returns how long the picture
// had not changed when it fired, in its own measure.
func frozenLog(t *testing.T, stderr string) (time.Duration, bool) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Logger    string  `json:"logger"`
			Msg       string  `json:"msg"`
			Black     bool    `json:"black"`
			Unchanged float64 `json:"unchanged"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Logger == "xinit-go.watchdog" && strings.HasPrefix(l.Msg, "frozen screen:") {
			return time.Duration(l.Unchanged * float64(time.Second)), l.Black
		}
	}
	t.Fatalf("no frozen-screen line in the log")
	return 0, false
}

func TestFrozenScreenFails(t *testing.T) {
	// Long enough for glxgears to map its window on a busy machine: a black
	// screen for the timeout is a freeze too.
	const timeout = 5 * time.Second
	art := t.TempDir()
	s := startX(t, "xvfb", []string{"XINIT_FREEZE_TIMEOUT=5s", "XINIT_ARTIFACTS=" + art, "XINIT_STOP_GRACE=2s"}, []string{"glxgears"})
	s.waitReady()
	testutil.Eventually(t, 60*time.Second, "the watchdog's first samples of the gears", func() bool {
		if s.p.Exited() {
			t.Fatalf("xinit-go exited before the gears were seen\n%s", s.p.Stderr.String())
		}
		f := s.frame().Frame
		// A sample that shows the gears: before the first sample, and before
		// glxgears has drawn (on a busy machine, seconds), the screen says nothing.
		return f != nil && f.Sampling && f.Action == "fail" && !f.Black && !f.Frozen && f.Unchanged < timeout.Seconds()/2
	})
	signalComm(t, s, "glxgears", syscall.SIGSTOP)
	if code := s.p.Wait(90 * time.Second); code != exitcode.Frozen {
		t.Fatalf("exit %d, want %d", code, exitcode.Frozen)
	}
	// Within the timeout plus one sample, by the watchdog's own clock: the first
	// sample after the stop is the last change, the next at or past the timeout fires.
	unchanged, black := frozenLog(t, s.p.Stderr.String())
	interval := watchdog.New(watchdog.Options{Timeout: timeout}).Interval()
	if black || unchanged < timeout || unchanged >= timeout+2*interval {
		t.Errorf("fired after %v unchanged (black %v); want from %v to %v", unchanged, black, timeout, timeout+2*interval)
	}
	path, sum := oneBundle(t, art)
	if sum.ExitCode != exitcode.Frozen || !strings.Contains(sum.Frozen, "has not changed") || !strings.Contains(sum.Reason, "frozen screen") {
		t.Errorf("summary %+v", sum)
	}
	for _, f := range []string{"frozen-screen.png", "screenshot.png"} {
		if _, err := os.Stat(filepath.Join(path, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestBlackScreenRestartsTheApp(t *testing.T) {
	appDir := t.TempDir()
	// The stand-in draws nothing: the screen stays black.
	s := startX(t, "xvfb", []string{"XINIT_FREEZE_TIMEOUT=1s", "XINIT_FREEZE_ACTION=restart", "XINIT_RESTART_BUDGET=1/1m",
		"XINIT_STOP_GRACE=1s"}, helperCmd("trap", "0", filepath.Join(appDir, "ready")))
	s.waitReady()
	restarted := false
	testutil.Eventually(t, 60*time.Second, "the app restarted for a black screen", func() bool {
		if s.p.Exited() {
			return true
		}
		for _, sv := range s.frame().Services {
			if sv.Name == "app" && sv.Restarts >= 1 {
				restarted = true
			}
		}
		return restarted
	})
	// Black again after the restart, with the budget spent: the session fails.
	if code := s.p.Wait(90 * time.Second); code != exitcode.Frozen {
		t.Fatalf("exit %d, want %d", code, exitcode.Frozen)
	}
	if _, black := frozenLog(t, s.p.Stderr.String()); !black {
		t.Error("the freeze was not reported as black")
	}
	if !strings.Contains(s.p.Stderr.String(), "restarting the app") {
		t.Error("no restart in the log")
	}
}

func TestBlackScreenLogOnly(t *testing.T) {
	appDir := t.TempDir()
	s := startX(t, "xvfb", []string{"XINIT_FREEZE_TIMEOUT=1s", "XINIT_FREEZE_ACTION=log", "XINIT_STOP_GRACE=1s"},
		helperCmd("trap", "7", filepath.Join(appDir, "ready")))
	s.waitReady()
	testutil.Eventually(t, 60*time.Second, "/status to show a frozen black screen", func() bool {
		f := s.frame().Frame
		return f != nil && f.Black && f.Frozen && f.Unchanged >= 1
	})
	if _, body := s.get("/metrics"); !strings.Contains(body, "xinit_frame_black 1") || !strings.Contains(body, "xinit_frame_unchanged_seconds ") {
		t.Errorf("metrics lack the frame gauges")
	}
	if s.p.Exited() {
		t.Fatal("XINIT_FREEZE_ACTION=log ended the session")
	}
	s.p.Signal(syscall.SIGTERM)
	if code := s.p.Wait(60 * time.Second); code != 7 {
		t.Errorf("exit %d, want the app's 7", code)
	}
}

// TestStoppedXServerIsAFreeze: Xvfb stopped with SIGSTOP answers nothing, not
// even a new connection's setup. The watchdog's sample times out, which counts
// as an unchanged picture: exit 75 within the timeout plus one wait and the
// confirmations, one sample's timeout, the stop bound (its screenshot's 2 s
// included) and the bundle's bound; no frozen-screen picture is tried (it could
// only time out); /healthz says why while the session stops.
// (Before: the sample waited for good, no exit 75, /healthz 200.)
func TestStoppedXServerIsAFreeze(t *testing.T) {
	const timeout, grace = 3 * time.Second, time.Second
	art := t.TempDir()
	s := startX(t, "xvfb", []string{"XINIT_FREEZE_TIMEOUT=3s", "XINIT_ARTIFACTS=" + art, "XINIT_STOP_GRACE=1s"}, []string{"glxgears"})
	s.waitReady()
	testutil.Eventually(t, 60*time.Second, "the watchdog's first samples of the gears", func() bool {
		if s.p.Exited() {
			t.Fatalf("xinit-go exited before the gears were seen\n%s", s.p.Stderr.String())
		}
		f := s.frame().Frame
		return f != nil && f.Sampling && !f.Black && !f.Frozen && f.Unchanged < timeout.Seconds()/2
	})
	x := s.xPID()
	if x == 0 {
		t.Fatal("no X server")
	}
	if err := syscall.Kill(x, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	// Let it go on for good, whatever the test's end: the X server must die of
	// the session's stop, not be left stopped.
	t.Cleanup(func() { _ = syscall.Kill(x, syscall.SIGCONT) })
	var healthz string
	testutil.Eventually(t, 60*time.Second, "/healthz to report the freeze, or the exit", func() bool {
		if code, body := s.get("/healthz"); code == 503 {
			healthz = body
			return true
		}
		return s.p.Exited()
	})
	if code := s.p.Wait(60 * time.Second); code != exitcode.Frozen {
		t.Fatalf("exit %d, want %d\n%s", code, exitcode.Frozen, s.p.Stderr.String())
	}
	took := time.Since(stopped)
	interval := watchdog.New(watchdog.Options{Timeout: timeout}).Interval()
	sampleTimeout := max(interval, time.Second)
	bound := timeout + interval*5/2 + sampleTimeout + (grace + 4*time.Second) + finishBound
	t.Logf("SIGSTOP to exit 75: %v (bound %v); /healthz: %q", took, bound, healthz)
	if took > bound {
		t.Errorf("exit 75 came %v after the SIGSTOP, over the bound of %v", took, bound)
	}
	if !strings.Contains(healthz, "X server has not answered") {
		t.Errorf("/healthz said %q while stopping, want the stalled X server named", healthz)
	}
	if _, sum := oneBundle(t, art); sum.ExitCode != exitcode.Frozen || !strings.Contains(sum.Frozen, "X server has not answered") ||
		sum.Missing["frozen-screen.png"] == "" || sum.Missing["screenshot.png"] == "" {
		t.Errorf("summary %+v", sum)
	}
}
