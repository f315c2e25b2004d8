package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/internal/soak"
	"github.com/xinit-go/xinit-go/internal/testutil"
)

// procCounts reads a process's resident memory (kB) and open file count.
func procCounts(t *testing.T, pid int) (rssKB, fds int) {
	t.Helper()
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			rssKB, _ = strconv.Atoi(f[1])
		}
	}
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return rssKB, len(ents)
}

// settledCounts reads xinit-go's resident memory and open files once the
// session has settled: the screen's update count connected again after an X
// restart (it retries on its own schedule, not /readyz's), the health server's
// connections left out (the test's own requests, kept alive for a while), and
// two readings 250 ms apart agreeing.
func (s *xsession) settledCounts() (rssKB, fds int) {
	s.t.Helper()
	pid := s.p.PID()
	testutil.Eventually(s.t, 30*time.Second, "xinit-go's open files to settle", func() bool {
		if d := s.screen(); d.Screen == nil || !d.Screen.Watching {
			return false
		}
		_, a := procCounts(s.t, pid)
		a -= soak.HealthConns(pid, s.healthAddr)
		time.Sleep(250 * time.Millisecond)
		rssKB, fds = procCounts(s.t, pid)
		fds -= soak.HealthConns(pid, s.healthAddr)
		return a == fds
	})
	return rssKB, fds
}

// zombiesUnder counts zombie processes below pid.
func zombiesUnder(pid int) int {
	below := map[int]bool{}
	for _, p := range descendants(pid)[1:] {
		below[p] = true
	}
	n := 0
	for _, p := range testutil.Procs() {
		if below[p.PID] && p.State == 'Z' {
			n++
		}
	}
	return n
}

// TestXKilledTwentyTimes: X and the app come back every time, no zombie is left,
// and xinit-go's open files and memory do not grow.
func TestXKilledTwentyTimes(t *testing.T) {
	starts := filepath.Join(t.TempDir(), "starts")
	s := startX(t, "xvfb", []string{"XINIT_RESTART_BUDGET=100/1m", "XINIT_RESTART_BACKOFF=500ms", "XINIT_LOG_LEVEL=info"}, helperCmd("append", starts, "app"))
	s.waitReady()
	testutil.Eventually(t, 20*time.Second, "the app's first start", func() bool {
		b, _ := os.ReadFile(starts)
		return countLine(string(b), "app") == 1
	})
	xinit := s.p.PID()
	var rss0, fds0 int
	const kills = 20
	for i := 1; i <= kills; i++ {
		x := s.xPID()
		if x == 0 {
			t.Fatalf("kill %d: no X server", i)
		}
		if err := syscall.Kill(x, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 30*time.Second, fmt.Sprintf("X and the app back after kill %d", i), func() bool {
			b, _ := os.ReadFile(starts)
			pid := s.xPID()
			return pid != 0 && pid != x && countLine(string(b), "app") == i+1
		})
		s.waitReady()
		if i == 2 {
			rss0, fds0 = s.settledCounts()
		}
	}
	// A child that has just exited is a zombie until xinit-go's wait: none
	// may stay.
	testutil.Eventually(t, 5*time.Second, "no zombie below xinit-go", func() bool { return zombiesUnder(xinit) == 0 })
	rss, fds := s.settledCounts()
	t.Logf("after %d kills of X: xinit-go RSS %d kB (was %d), open files %d (was %d)", kills, rss, rss0, fds, fds0)
	if fds > fds0 {
		t.Errorf("open files grew from %d to %d", fds0, fds)
	}
	// Go's heap grows to its GC target (4 MB at least) before it is collected: a
	// leak per restart would pass that within 20 restarts.
	if rss > rss0+8192 {
		t.Errorf("resident memory grew from %d kB to %d kB", rss0, rss)
	}
	s.p.Signal(syscall.SIGTERM)
	if c := s.p.Wait(30 * time.Second); c != 0 {
		t.Errorf("exit %d", c)
	}
}

// TestVNCKilledRestartsAlone: only x11vnc restarts; the app keeps running.
func TestVNCKilledRestartsAlone(t *testing.T) {
	starts := filepath.Join(t.TempDir(), "starts")
	s := startX(t, "xvfb", []string{"VNC_PASSWORD=" + password}, helperCmd("append", starts, "app"))
	s.waitReady()
	vnc := 0
	for _, pid := range descendants(s.p.PID()) {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(b)) == "x11vnc" {
			vnc = pid
		}
	}
	if vnc == 0 {
		t.Fatal("no x11vnc")
	}
	if err := syscall.Kill(vnc, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "x11vnc to restart", func() bool {
		return strings.Contains(s.p.Stderr.String(), `"service":"vnc","pid"`) && strings.Count(s.p.Stderr.String(), `"msg":"ready","service":"vnc"`) == 2
	})
	if _, _, err := snapshot(t, s.vncPort, password); err != nil {
		t.Errorf("no VNC picture after the restart: %v", err)
	}
	b, _ := os.ReadFile(starts)
	if countLine(string(b), "app") != 1 || strings.Contains(string(b), "stop") {
		t.Errorf("the app was touched: %q", b)
	}
	// The shared memory the killed x11vnc made for MIT-SHM does not outlive it
	// (else a session whose x11vnc restarts often runs out of segments).
	testutil.Eventually(t, 10*time.Second, "the killed x11vnc's shared memory to be removed", func() bool {
		data, _ := os.ReadFile("/proc/sysvipc/shm")
		for _, line := range strings.Split(string(data), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 4 && f[4] == strconv.Itoa(vnc) {
				return false
			}
		}
		return true
	})
	s.p.Signal(syscall.SIGTERM)
	s.p.Wait(30 * time.Second)
}

// TestSIGTERMDuringStartAndBackoff: a stop asked for before X is ready, or while the
// app waits out a restart backoff, ends promptly and in order.
func TestSIGTERMDuringStartAndBackoff(t *testing.T) {
	t.Run("before X is ready", func(t *testing.T) {
		// A ready timeout the X server cannot meet keeps the session starting.
		s := startX(t, "xvfb", []string{"XINIT_VNC=off", "SCREEN_RESOLUTION=16384x16384x24", "XINIT_X_READY_TIMEOUT=1h"}, helperCmd("sleep"))
		testutil.Eventually(t, 20*time.Second, "X to be started", func() bool {
			return strings.Contains(s.p.Stderr.String(), `"msg":"started","service":"x"`)
		})
		s.p.Signal(syscall.SIGTERM)
		if c := s.p.Wait(20 * time.Second); c != 143 {
			t.Errorf("exit %d, want 143 (no app ever ran)", c)
		}
		if strings.Contains(s.p.Stderr.String(), `"service":"app","pid"`) {
			t.Error("the app was started after the stop")
		}
	})
	t.Run("during a restart backoff", func(t *testing.T) {
		p := testutil.Start(t, testutil.Options{Namespace: true,
			Env:  append(plain, "XINIT_APP_RESTART=on-failure", "XINIT_RESTART_BUDGET=100/1m"),
			Args: helperCmd("fail-after", "0", "4")})
		testutil.Eventually(t, 20*time.Second, "a backoff of a second or more", func() bool {
			return strings.Contains(p.Stderr.String(), `"backoff":1`) || strings.Contains(p.Stderr.String(), `"backoff":2`)
		})
		p.Signal(syscall.SIGTERM)
		start := time.Now()
		if c := p.Wait(20 * time.Second); c != 143 {
			t.Errorf("exit %d, want 143", c)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("the stop waited for the backoff: %s", took)
		}
		// The backoff doubled: 250ms, 500ms, 1s, ...
		for _, want := range []string{`"backoff":0.25`, `"backoff":0.5`, `"backoff":1`} {
			if !strings.Contains(p.Stderr.String(), want) {
				t.Errorf("no %s in the log", want)
			}
		}
	})
}

// TestUnwritableRuntimeDir: a full or read-only runtime directory is a clear error
// with exit 78, and nothing is started.
func TestUnwritableRuntimeDir(t *testing.T) {
	testutil.NeedRoot(t)
	for _, opts := range []string{"size=16k", "ro"} {
		dir := t.TempDir()
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
		if opts == "size=16k" {
			f, _ := os.Create(filepath.Join(dir, "filler"))
			_, _ = f.Write(make([]byte, 1<<20))
			f.Close()
		}
		display := testutil.FreeDisplay(t)
		p := testutil.Start(t, testutil.Options{Namespace: true, Env: []string{"XINIT_BACKEND=dummy", "XINIT_HEALTH_ADDR=off",
			"XINIT_DISPLAY=:" + strconv.Itoa(display), "XINIT_RUNTIME_DIR=" + filepath.Join(dir, "run"), "VNC_PASSWORD=abc"}, Args: helperCmd("exit", "0")})
		if c := p.Wait(20 * time.Second); c != 78 {
			t.Errorf("%s: exit %d, want 78", opts, c)
		}
		if msg := p.Stderr.String(); !strings.Contains(msg, "XINIT_RUNTIME_DIR") || strings.Contains(msg, `"msg":"started"`) {
			t.Errorf("%s: want a message naming XINIT_RUNTIME_DIR and nothing started:\n%s", opts, msg)
		}
	}
}

// TestBadInputExits78WithNothingStarted runs the binary with bad values.
func TestBadInputExits78WithNothingStarted(t *testing.T) {
	for _, kv := range []string{"SCREEN_RESOLUTION=1280x", "BUSID=0:4:0", "XINIT_VNC_PORT=70000", "XINIT_BACKEND=opengl", "XINIT_APP_TIMEOUT=1 hour"} {
		p := testutil.Start(t, testutil.Options{Namespace: true, Env: []string{kv}, Args: helperCmd("exit", "0")})
		if c := p.Wait(20 * time.Second); c != 78 {
			t.Errorf("%s: exit %d", kv, c)
		}
		name, _, _ := strings.Cut(kv, "=")
		if msg := p.Stderr.String(); !strings.Contains(msg, name) || !strings.Contains(msg, "nothing was started") || !strings.Contains(msg, "e.g.") {
			t.Errorf("%s: message %q", kv, msg)
		}
	}
}
