package supervisor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

func TestMain(m *testing.M) {
	testutil.RunHelperIfAsked()
	goleak.VerifyTestMain(m)
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestBackoffDoublesToTheCap(t *testing.T) {
	tr := newTracker(Restart{Budget: 100, Window: time.Hour, BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second})
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	now := t0
	for i, w := range want {
		d, ok := tr.next(now, time.Millisecond)
		if !ok || d != w*time.Millisecond {
			t.Fatalf("restart %d: %v %v, want %v", i, d, ok, w*time.Millisecond)
		}
		now = now.Add(time.Second)
	}
}

func TestLongRunResetsBackoff(t *testing.T) {
	tr := newTracker(Restart{Budget: 100, Window: time.Minute, BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second})
	tr.next(t0, 0)
	tr.next(t0, 0)
	d, _ := tr.next(t0.Add(2*time.Minute), 2*time.Minute)
	if d != 100*time.Millisecond {
		t.Errorf("after a long run the backoff is %v, want it reset", d)
	}
}

func TestBudgetWindowSlides(t *testing.T) {
	tr := newTracker(Restart{Budget: 3, Window: time.Minute})
	for i := 0; i < 3; i++ {
		if _, ok := tr.next(t0.Add(time.Duration(i)*time.Second), 0); !ok {
			t.Fatalf("restart %d refused", i)
		}
	}
	if _, ok := tr.next(t0.Add(30*time.Second), 0); ok {
		t.Fatal("a 4th restart within the window was allowed")
	}
	if _, ok := tr.next(t0.Add(61*time.Second), 0); !ok {
		t.Fatal("the window did not slide")
	}
	none := newTracker(Restart{Budget: NoRestarts})
	if _, ok := none.next(t0, 0); ok {
		t.Fatal("NoRestarts allowed one")
	}
}

func TestPolicyWants(t *testing.T) {
	cases := []struct {
		p    Policy
		st   ExitStatus
		want bool
	}{
		{Never, Exited(1), false},
		{OnFailure, Exited(0), false},
		{OnFailure, Exited(3), true},
		{OnFailure, Signaled(syscall.SIGKILL), true},
		{Always, Exited(0), true},
	}
	for _, c := range cases {
		if got := (Restart{Policy: c.p}).wants(c.st); got != c.want {
			t.Errorf("%v after %v: %v", c.p, c.st, got)
		}
	}
	if Signaled(syscall.SIGKILL).Code() != 137 || Exited(255).Code() != 255 {
		t.Error("codes")
	}
	for _, s := range []string{"never", "on-failure", "always"} {
		if p, err := ParsePolicy(s); err != nil || p.String() != s {
			t.Errorf("%s: %v %v", s, p, err)
		}
	}
}

func TestValidate(t *testing.T) {
	a := []string{"a"}
	cases := map[string][]Spec{
		"cycle":         {{Name: "a", Argv: a, After: []string{"b"}}, {Name: "b", Argv: a, After: []string{"a"}}},
		"not a service": {{Name: "a", Argv: a, After: []string{"zz"}}},
		"twice":         {{Name: "a", Argv: a}, {Name: "a", Argv: a}},
		"empty command": {{Name: "a"}},
		"main role":     {{Name: "a", Argv: a, Role: Main}, {Name: "b", Argv: a, Role: Main}},
	}
	for want, specs := range cases {
		if err := Validate(specs); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
}

func helper(name string, args ...string) ([]string, []string) {
	return testutil.HelperArgv(name, args...), append(os.Environ(), testutil.HelperEnviron())
}

func run(t *testing.T, specs []Spec, ctx context.Context) (int, *Supervisor) {
	t.Helper()
	s, err := New(specs, Options{Logger: zaptest.NewLogger(t), StopGrace: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s.Run(ctx), s
}

func TestDependencyRestartRestartsDependents(t *testing.T) {
	dir := t.TempDir()
	depPid := filepath.Join(dir, "dep")
	starts := filepath.Join(dir, "starts")
	depArgv, env := helper("ignore", depPid)
	appArgv, _ := helper("append", starts, "app")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var s *Supervisor
	done := make(chan int)
	go func() {
		code, sup := run(t, []Spec{
			{Name: "dep", Argv: depArgv, Env: env, Role: Required, Restart: Restart{Policy: Always, BackoffMin: 10 * time.Millisecond}},
			{Name: "app", Argv: appArgv, Env: env, Role: Main, After: []string{"dep"}},
		}, ctx)
		s = sup
		done <- code
	}()
	testutil.Eventually(t, 20*time.Second, "the app's first start", func() bool { return countLines(starts) == 1 && fileExists(depPid) })
	pid := readPid(t, depPid)
	os.Remove(depPid)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The app (policy never) is stopped with its dependency and started again after it.
	testutil.Eventually(t, 20*time.Second, "the app's start after its dependency's", func() bool { return countLines(starts) >= 3 && fileExists(depPid) })
	cancel()
	code := <-done
	if code != 0 {
		t.Errorf("exit %d, want the app's 0 after SIGTERM", code)
	}
	st := s.Status()
	if st.Services[0].Restarts != 1 || st.Services[1].Restarts != 0 {
		t.Errorf("restarts: %+v", st.Services)
	}
	b, _ := os.ReadFile(starts)
	if got := strings.Fields(string(b)); strings.Join(got, ",") != "app,stop,app,app,stop,app" {
		t.Errorf("app log %q", got)
	}
}

func TestRequiredServiceNeverReadyGives70(t *testing.T) {
	argv, env := helper("sleep")
	appArgv, _ := helper("exit", "0")
	code, s := run(t, []Spec{
		{Name: "x", Argv: argv, Env: env, Role: Required, ReadyTimeout: 100 * time.Millisecond,
			Restart: Restart{Policy: Always, Budget: 2, BackoffMin: time.Millisecond},
			Ready: func() (*Probe, error) {
				return &Probe{Wait: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}, nil
			}},
		{Name: "app", Argv: appArgv, Env: env, Role: Main, After: []string{"x"}},
	}, context.Background())
	if code != 70 {
		t.Errorf("exit %d, want 70", code)
	}
	if r := s.Status().Reason; !strings.Contains(r, "not ready after") || !strings.Contains(r, "budget spent") {
		t.Errorf("reason %q", r)
	}
}

func TestPermanentPreStartFailsAtOnce(t *testing.T) {
	argv, env := helper("sleep")
	code, s := run(t, []Spec{
		{Name: "x", Argv: argv, Env: env, Role: Required, Restart: Restart{Policy: Always},
			PreStart: func(context.Context) error { return Permanent(errors.New("display :0 is in use")) }},
	}, context.Background())
	if code != 70 || !strings.Contains(s.Status().Reason, "in use") || s.Status().Services[0].Restarts != 0 {
		t.Errorf("exit %d, status %+v", code, s.Status())
	}
}

func TestBeforeFinishRunsBeforeTheStop(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	argv, env := helper("trap", "0", ready)
	var sawRunning bool
	s, err := New([]Spec{{Name: "app", Argv: argv, Env: env, Role: Main, Timeout: 2 * time.Second}},
		Options{Logger: zaptest.NewLogger(t), BeforeFinish: func(ctx context.Context, reason string) {
			b, _ := os.ReadFile(ready)
			sawRunning = len(b) > 0 && strings.Contains(reason, "timeout")
		}})
	if err != nil {
		t.Fatal(err)
	}
	if code := s.Run(context.Background()); code != 124 {
		t.Errorf("exit %d", code)
	}
	if !sawRunning {
		t.Error("BeforeFinish did not run while the app was still up")
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func countLines(p string) int {
	b, _ := os.ReadFile(p)
	return strings.Count(string(b), "app\n")
}

func readPid(t *testing.T, p string) int {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	for _, c := range strings.TrimSpace(string(b)) {
		pid = pid*10 + int(c-'0')
	}
	return pid
}
