package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

// Each test here runs the real binary as PID 1 of its own PID namespace (and,
// where it says so, as a plain child that must act as a subreaper) with
// XINIT_BACKEND=none: the supervisor alone, as tini would be used.

var plain = []string{"XINIT_BACKEND=none", "XINIT_HEALTH_ADDR=off"}

func modes(t *testing.T, f func(t *testing.T, ns bool)) {
	t.Run("pid1", func(t *testing.T) { f(t, true) })
	t.Run("subreaper", func(t *testing.T) { f(t, false) })
}

func TestExitCodePassThrough(t *testing.T) {
	modes(t, func(t *testing.T, ns bool) {
		for _, code := range []int{0, 7, 255} {
			p := testutil.Start(t, testutil.Options{Namespace: ns, Env: plain, Args: helperCmd("exit", fmt.Sprint(code))})
			if got := p.Wait(30 * time.Second); got != code {
				t.Errorf("app exited %d, xinit-go exited %d", code, got)
			}
		}
	})
}

func TestSignalledAppGives128PlusN(t *testing.T) {
	modes(t, func(t *testing.T, ns bool) {
		for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGHUP, syscall.SIGTERM} {
			p := testutil.Start(t, testutil.Options{Namespace: ns, Env: plain, Args: helperCmd("selfkill", fmt.Sprint(int(sig)))})
			if got, want := p.Wait(30*time.Second), 128+int(sig); got != want {
				t.Errorf("app killed by %v: xinit-go exited %d, want %d", sig, got, want)
			}
		}
	})
}

func TestOrphansAreReaped(t *testing.T) {
	modes(t, func(t *testing.T, ns bool) {
		// The app makes 300 orphans and exits 0 only if none is left a zombie.
		p := testutil.Start(t, testutil.Options{Namespace: ns, Env: plain, Args: helperCmd("orphans", "300")})
		if got := p.Wait(60 * time.Second); got != 0 {
			t.Fatalf("orphans left as zombies: exit %d\n%s", got, p.Stdout.String())
		}
		if !strings.Contains(p.Stdout.String(), "300 reaped") {
			t.Errorf("app output: %q", p.Stdout.String())
		}
	})
}

func TestSIGTERMIsForwardedAndAppCodeReturned(t *testing.T) {
	modes(t, func(t *testing.T, ns bool) {
		ready := filepath.Join(t.TempDir(), "ready")
		p := testutil.Start(t, testutil.Options{Namespace: ns, Env: plain, Args: helperCmd("trap", "42", ready)})
		waitFile(t, ready)
		p.Signal(syscall.SIGTERM)
		if got := p.Wait(20 * time.Second); got != 42 {
			t.Errorf("app exits 42 on SIGTERM; xinit-go exited %d", got)
		}
	})
}

func TestSignalsAreForwarded(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "ready")
	p := testutil.Start(t, testutil.Options{Namespace: true, Env: append(plain, "XINIT_FORWARD_SIGNALS=HUP,USR1,WINCH"), Args: helperCmd("trap", "0", ready)})
	waitFile(t, ready)
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGWINCH} {
		p.Signal(s)
		testutil.Eventually(t, 10*time.Second, s.String()+" to reach the app", func() bool {
			b, _ := os.ReadFile(ready + ".sig")
			return strings.Contains(string(b), s.String())
		})
	}
	// SIGUSR2 is not in the list: the app must not see it, and xinit-go must not die of it.
	p.Signal(syscall.SIGUSR2)
	p.Signal(syscall.SIGTERM)
	if got := p.Wait(20 * time.Second); got != 0 {
		t.Errorf("exit %d", got)
	}
	b, _ := os.ReadFile(ready + ".sig")
	if strings.Contains(string(b), "user defined signal 2") {
		t.Errorf("SIGUSR2 was forwarded though not listed: %q", b)
	}
}

func TestAppIgnoringSIGTERMIsKilledAfterGrace(t *testing.T) {
	modes(t, func(t *testing.T, ns bool) {
		ready := filepath.Join(t.TempDir(), "ready")
		p := testutil.Start(t, testutil.Options{Namespace: ns, Env: append(plain, "XINIT_STOP_GRACE=1500ms"), Args: helperCmd("ignore", ready)})
		waitFile(t, ready)
		start := time.Now()
		p.Signal(syscall.SIGTERM)
		got := p.Wait(30 * time.Second)
		took := time.Since(start)
		if got != 137 {
			t.Errorf("exit %d, want 137 (SIGKILL after the grace)", got)
		}
		if took < 1500*time.Millisecond {
			t.Errorf("killed after %s, before the 1.5s grace", took)
		}
		if !strings.Contains(p.Stderr.String(), "grace over") {
			t.Errorf("no log line about the grace")
		}
	})
}

func TestSecondSIGTERMEscalates(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "ready")
	p := testutil.Start(t, testutil.Options{Namespace: true, Env: append(plain, "XINIT_STOP_GRACE=1h"), Args: helperCmd("ignore", ready)})
	waitFile(t, ready)
	p.Signal(syscall.SIGTERM)
	testutil.Eventually(t, 10*time.Second, "the stop to begin", func() bool {
		return strings.Contains(p.Stderr.String(), `"msg":"stopping"`)
	})
	p.Signal(syscall.SIGTERM)
	if got := p.Wait(20 * time.Second); got != 137 {
		t.Errorf("exit %d, want 137", got)
	}
}

func TestStopChainInReverseOrder(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	cfg := filepath.Join(dir, "config.toml")
	var b strings.Builder
	prev := ""
	for _, name := range []string{"a", "b", "c"} {
		argv := testutil.HelperArgv("append", log, name)
		fmt.Fprintf(&b, "[[service]]\nname = %q\ncommand = [%s]\nrestart = \"never\"\n", name, quoteList(argv))
		if prev != "" {
			fmt.Fprintf(&b, "after = [%q]\n", prev)
		}
		prev = name
	}
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(dir, "ready")
	p := testutil.Start(t, testutil.Options{Namespace: true, Env: append(plain, "XINIT_CONFIG="+cfg), Args: helperCmd("trap", "0", ready)})
	waitFile(t, ready)
	testutil.Eventually(t, 10*time.Second, "a, b and c to start", func() bool {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "\n") >= 3
	})
	p.Signal(syscall.SIGTERM)
	if got := p.Wait(20 * time.Second); got != 0 {
		t.Fatalf("exit %d", got)
	}
	out, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var stops []string
	for _, l := range lines {
		if s, ok := strings.CutPrefix(l, "stop "); ok {
			stops = append(stops, s)
		}
	}
	if strings.Join(stops, ",") != "c,b,a" {
		t.Errorf("stop order %v, want c,b,a (log %q)", stops, lines)
	}
}

func TestNoDescendantSurvives(t *testing.T) {
	modes(t, func(t *testing.T, ns bool) {
		token := fmt.Sprintf("xinit-go-test-token-%d-%v", os.Getpid(), ns)
		pidFile := filepath.Join(t.TempDir(), "pid")
		p := testutil.Start(t, testutil.Options{Namespace: ns, Env: append(plain, "XINIT_STOP_GRACE=500ms"), Args: helperCmd("daemon", token, pidFile)})
		waitFile(t, pidFile)
		token += "-grandchild"
		if n := len(testutil.ProcsWithArg(token)); n != 1 {
			t.Fatalf("want the daemonised grandchild running, found %d", n)
		}
		p.Signal(syscall.SIGTERM)
		p.Wait(20 * time.Second)
		if left := testutil.ProcsWithArg(token); len(left) > 0 {
			for _, pid := range left {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Fatalf("descendants outlived xinit-go: %v", left)
		}
	})
}

func TestUnknownCommandGives127(t *testing.T) {
	p := testutil.Start(t, testutil.Options{Namespace: true, Env: plain, Args: []string{"--", "no-such-program-xyz"}})
	if got := p.Wait(20 * time.Second); got != 127 {
		t.Errorf("exit %d, want 127", got)
	}
	if !strings.Contains(p.Stderr.String(), "no-such-program-xyz") {
		t.Errorf("the log does not name the missing program")
	}
}

func TestAppTimeoutGives124(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "ready")
	p := testutil.Start(t, testutil.Options{Namespace: true, Env: append(plain, "XINIT_APP_TIMEOUT=1s"), Args: helperCmd("trap", "0", ready)})
	if got := p.Wait(20 * time.Second); got != 124 {
		t.Errorf("exit %d, want 124", got)
	}
}

func TestOnFailureRestartsUntilBudget(t *testing.T) {
	dir := t.TempDir()
	p := testutil.Start(t, testutil.Options{Namespace: true,
		Env:  append(plain, "XINIT_APP_RESTART=on-failure", "XINIT_RESTART_BUDGET=3/1m"),
		Args: helperCmd("fail-after", "10", "9")})
	if got := p.Wait(60 * time.Second); got != 9 {
		t.Errorf("exit %d, want the app's last code 9", got)
	}
	if n := strings.Count(p.Stderr.String(), `"msg":"restarting"`); n != 3 {
		t.Errorf("%d restarts, want 3 (the budget)", n)
	}
	if !strings.Contains(p.Stderr.String(), "restart budget spent") {
		t.Errorf("no log line about the spent budget")
	}
	_ = dir
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	testutil.Eventually(t, 20*time.Second, path+" to appear", func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// countLine counts the lines that are exactly line.
func countLine(text, line string) int {
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			n++
		}
	}
	return n
}

// TestInteractiveAppGetsTheTerminal: with a terminal on stdin (docker run -it), the
// app is made the terminal's foreground process group, so it can read it instead
// of being stopped by SIGTTIN, and xinit-go takes the terminal back after it.
func TestInteractiveAppGetsTheTerminal(t *testing.T) {
	testutil.Need(t, "script")
	bin := testutil.Binary(t)
	cmd := exec.Command("script", "-qefc", bin+` -- sh -c 'read x; echo got:$x; exit 4'`, "/dev/null")
	cmd.Env = append(testutil.BaseEnv(), plain...)
	cmd.Stdin = strings.NewReader("hello\n")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the app could not read the terminal (stopped by SIGTTIN?):\n%s", out.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 4 {
		t.Errorf("exit %d, want the app's 4:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "got:hello") {
		t.Errorf("the app did not read the terminal:\n%s", out.String())
	}
}
