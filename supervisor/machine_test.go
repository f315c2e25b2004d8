package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// fakeProcs is the seam's fake: no process, no signal, no sleep. Each service
// answers signals as its behaviour says; the exits it causes wait in a queue
// until the test delivers a SIGCHLD.
type fakeProcs struct {
	next    int
	pids    map[string]int // the current run's pid, by service name
	names   map[int]string
	starts  map[string]int
	sent    []string // "name SIG", in order
	queue   []reaped
	live    map[int]bool
	failing map[string]error // start errors, by service name
	// behaviour, by service name
	ignoreTerm map[string]bool // the stop signal does nothing
	termCode   map[string]int  // exit code on the stop signal (default: killed by it)
	stuck      map[string]bool // not even SIGKILL ends it (a task stuck in the kernel)
	dyingPids  map[int]bool
}

func newFake() *fakeProcs {
	return &fakeProcs{pids: map[string]int{}, names: map[int]string{}, starts: map[string]int{}, live: map[int]bool{},
		failing: map[string]error{}, ignoreTerm: map[string]bool{}, termCode: map[string]int{}, stuck: map[string]bool{},
		dyingPids: map[int]bool{}}
}

func (f *fakeProcs) start(sp *Spec, _ *Probe) (int, error) {
	if err := f.failing[sp.Name]; err != nil {
		return 0, err
	}
	f.next++
	pid := 100 + f.next
	f.pids[sp.Name], f.names[pid] = pid, sp.Name
	f.starts[sp.Name]++
	f.live[pid] = true
	return pid, nil
}

func (f *fakeProcs) signal(pgid int, sig syscall.Signal) error {
	name := f.names[pgid]
	if !f.live[pgid] {
		return nil
	}
	f.sent = append(f.sent, name+" "+sigName(sig))
	switch {
	case sig == syscall.SIGKILL && !f.stuck[name]:
		f.exit(pgid, Signaled(syscall.SIGKILL))
	case sig == syscall.SIGTERM && !f.ignoreTerm[name] && !f.stuck[name]:
		if c, ok := f.termCode[name]; ok {
			f.exit(pgid, Exited(c))
		} else {
			f.exit(pgid, Signaled(syscall.SIGTERM))
		}
	}
	return nil
}

func (f *fakeProcs) exit(pid int, st ExitStatus) {
	if f.live[pid] {
		delete(f.live, pid)
		f.queue = append(f.queue, reaped{pid, st})
	}
}

func (f *fakeProcs) reap(into []reaped) []reaped {
	into = append(into, f.queue...)
	f.queue = nil
	return into
}

func (f *fakeProcs) dying(pid int) bool { return f.dyingPids[pid] || !f.live[pid] }
func (f *fakeProcs) sweep(bool, time.Time, func(reaped)) int {
	return len(f.live)
}
func (f *fakeProcs) drain(time.Time) {}

func sigName(sig syscall.Signal) string { return strings.TrimPrefix(fmt.Sprint(unixName(sig)), "SIG") }

func unixName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGKILL:
		return "KILL"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGHUP:
		return "HUP"
	}
	return sig.String()
}

// machine drives a Supervisor's state machine by hand, on a fake clock.
type machine struct {
	t     *testing.T
	s     *Supervisor
	f     *fakeProcs
	now   time.Time
	hooks []string // reasons BeforeFinish was started with
}

func newMachine(t *testing.T, specs []Spec, opts Options) *machine {
	t.Helper()
	opts.Logger = zaptest.NewLogger(t)
	s, err := New(specs, opts)
	if err != nil {
		t.Fatal(err)
	}
	m := &machine{t: t, s: s, f: newFake(), now: t0}
	s.procs = m.f
	s.now = func() time.Time { return m.now }
	s.runProbe = func(*service, int, *Probe, context.Context) {}
	s.runHook = func(_ context.Context, reason string) { m.hooks = append(m.hooks, reason) }
	s.started = t0
	m.step()
	return m
}

// step runs the machine at the current time and checks the loop's invariant:
// no deadline is left in the past (a past deadline is a spinning loop).
func (m *machine) step() {
	m.t.Helper()
	m.s.step(m.now)
	if next, ok := m.s.nextDeadline(); ok && !next.After(m.now) && !m.s.finished() {
		m.t.Fatalf("at +%v: a deadline in the past (+%v): the loop would spin", m.now.Sub(t0), next.Sub(t0))
	}
}

// at moves the clock to t0+d, stopping at each deadline on the way as the loop's
// timer would.
func (m *machine) at(d time.Duration) {
	m.t.Helper()
	end := t0.Add(d)
	for {
		next, ok := m.s.nextDeadline()
		if !ok || next.After(end) || m.s.finished() {
			break
		}
		m.now = next
		m.step()
		m.chld()
	}
	if end.After(m.now) {
		m.now = end
	}
	m.step()
}

// chld delivers the queued exits, as a SIGCHLD would.
func (m *machine) chld() {
	m.t.Helper()
	for len(m.f.queue) > 0 {
		m.s.onSignal(syscall.SIGCHLD, m.now)
		m.step()
	}
}

func (m *machine) exit(name string, st ExitStatus) {
	m.t.Helper()
	m.f.exit(m.f.pids[name], st)
	m.chld()
}

func (m *machine) ready(name string, err error) {
	m.t.Helper()
	sv := m.svc(name)
	m.s.onReady(readyResult{sv, sv.gen, err}, m.now)
	m.step()
	m.chld()
}

func (m *machine) signal(sig syscall.Signal) {
	m.t.Helper()
	m.s.onSignal(sig, m.now)
	m.step()
	m.chld()
}

func (m *machine) hookDone() {
	m.t.Helper()
	m.s.onHookDone(m.now)
	m.step()
	m.chld()
}

func (m *machine) svc(name string) *service {
	for _, sv := range m.s.svcs {
		if sv.spec.Name == name {
			return sv
		}
	}
	m.t.Fatalf("no service %q", name)
	return nil
}

func (m *machine) want(name string, st State) {
	m.t.Helper()
	if got := m.svc(name).state; got != st {
		m.t.Fatalf("at +%v: %s is %s, want %s", m.now.Sub(t0), name, got, st)
	}
}

func (m *machine) wantEnd(code int) {
	m.t.Helper()
	if !m.s.finished() {
		m.t.Fatalf("at +%v: the set has not finished: %+v", m.now.Sub(t0), m.s.Status())
	}
	if m.s.stop.code != code {
		m.t.Fatalf("exit code %d, want %d (reason %q)", m.s.stop.code, code, m.s.stop.reason)
	}
}

func (m *machine) wantSent(want ...string) {
	m.t.Helper()
	if got := strings.Join(m.f.sent, ", "); got != strings.Join(want, ", ") {
		m.t.Fatalf("signals sent: %s\nwant: %s", got, strings.Join(want, ", "))
	}
}

func probed() (*Probe, error) {
	return &Probe{Wait: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}, nil
}

// session is the shape of an X session: x, then vnc and the app after it.
func session(appRestart Policy) []Spec {
	return []Spec{
		{Name: "x", Argv: []string{"Xvfb"}, Role: Required, Ready: probed, ReadyTimeout: 30 * time.Second,
			Restart: Restart{Policy: Always, Budget: 3, Window: time.Minute}},
		{Name: "vnc", Argv: []string{"x11vnc"}, Role: Required, After: []string{"x"}, Ready: probed,
			ReadyTimeout: 20 * time.Second, Restart: Restart{Policy: Always, Budget: 3, Window: time.Minute}},
		{Name: "app", Argv: []string{"app"}, Role: Main, After: []string{"x"},
			Restart: Restart{Policy: appRestart, Budget: 2, Window: time.Minute}},
	}
}

func up(t *testing.T, appRestart Policy, opts Options) *machine {
	m := newMachine(t, session(appRestart), opts)
	m.want("x", Starting)
	m.want("app", Pending)
	m.ready("x", nil)
	m.ready("vnc", nil)
	m.want("app", Ready)
	return m
}

func TestMachine(t *testing.T) {
	const grace = 5 * time.Second
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"the app's exit code is the set's, and the stop runs in reverse order", func(t *testing.T) {
			m := up(t, Never, Options{StopGrace: grace})
			m.exit("app", Exited(3))
			m.want("app", Failed)
			m.wantSent("vnc TERM", "x TERM")
			m.wantEnd(3)
		}},
		{"a signal's death is 128+N", func(t *testing.T) {
			m := up(t, Never, Options{})
			m.exit("app", Signaled(syscall.SIGSEGV))
			m.wantEnd(128 + int(syscall.SIGSEGV))
		}},
		{"SIGTERM: the app's own code on it", func(t *testing.T) {
			m := up(t, Never, Options{})
			m.f.termCode["app"] = 0
			m.signal(syscall.SIGTERM)
			m.wantSent("app TERM", "vnc TERM", "x TERM")
			m.wantEnd(0)
		}},
		{"SIGTERM: 143 when the app dies of it", func(t *testing.T) {
			m := up(t, Never, Options{})
			m.signal(syscall.SIGTERM)
			m.wantEnd(143)
		}},
		{"a second SIGTERM kills everything at once", func(t *testing.T) {
			m := up(t, Never, Options{StopGrace: time.Hour})
			m.f.ignoreTerm["app"] = true
			m.f.ignoreTerm["vnc"] = true
			m.signal(syscall.SIGTERM)
			m.wantSent("app TERM", "vnc TERM") // x waits for both
			m.at(time.Minute)
			m.wantSent("app TERM", "vnc TERM")
			m.signal(syscall.SIGINT)
			m.wantSent("app TERM", "vnc TERM", "app KILL", "vnc KILL", "x KILL")
			m.wantEnd(137)
		}},
		{"a SIGTERM after the app ended on its own is the first, not the second", func(t *testing.T) {
			m := up(t, Never, Options{StopGrace: grace})
			m.f.ignoreTerm["vnc"] = true
			m.exit("app", Exited(3))
			m.wantSent("vnc TERM")
			m.signal(syscall.SIGTERM)
			m.wantSent("vnc TERM") // no SIGKILL: the grace goes on
			m.at(grace)
			m.wantSent("vnc TERM", "vnc KILL", "x TERM")
			m.wantEnd(3)
		}},
		{"a SIGTERM during a restart backoff ends the set at once", func(t *testing.T) {
			m := up(t, OnFailure, Options{})
			m.exit("app", Exited(1))
			m.want("app", Backoff)
			m.signal(syscall.SIGTERM)
			m.want("app", Stopped)
			m.wantEnd(143)
			if m.f.starts["app"] != 1 {
				t.Fatalf("the app started %d times", m.f.starts["app"])
			}
		}},
		{"a SIGTERM before X is ready: the app never starts", func(t *testing.T) {
			m := newMachine(t, session(Never), Options{})
			m.signal(syscall.SIGTERM)
			m.wantEnd(143)
			if m.f.starts["app"] != 0 {
				t.Fatal("the app started")
			}
		}},
		{"an app that ignores SIGTERM is killed after the grace", func(t *testing.T) {
			m := up(t, Never, Options{StopGrace: grace})
			m.f.ignoreTerm["app"] = true
			m.signal(syscall.SIGTERM)
			m.at(grace - time.Millisecond)
			m.wantSent("app TERM", "vnc TERM")
			m.at(grace)
			m.wantSent("app TERM", "vnc TERM", "app KILL", "x TERM")
			m.wantEnd(137)
		}},
		{"the app's timeout gives 124", func(t *testing.T) {
			specs := session(Never)
			specs[2].Timeout = 10 * time.Second
			m := newMachine(t, specs, Options{})
			m.ready("x", nil)
			m.ready("vnc", nil)
			m.at(10*time.Second - time.Millisecond)
			m.want("app", Ready)
			m.at(10 * time.Second)
			m.wantEnd(ExitTimeout)
		}},
		{"X not ready in time is killed and restarted", func(t *testing.T) {
			m := newMachine(t, session(Never), Options{})
			m.at(30 * time.Second)
			m.wantSent("x KILL")
			m.want("x", Backoff)
			m.at(30*time.Second + 250*time.Millisecond)
			m.want("x", Starting)
			if r := m.svc("x").lastReason; !strings.Contains(r, "not ready after 30s") {
				t.Fatalf("reason %q", r)
			}
		}},
		{"an unreapable process killed at its ready timeout is abandoned, without a spin", func(t *testing.T) {
			m := newMachine(t, session(Never), Options{})
			m.f.stuck["x"] = true
			m.at(30 * time.Second)
			m.wantSent("x KILL")
			m.want("x", Starting)
			m.at(30*time.Second + abandonAfter)
			m.want("x", Backoff)
			if r := m.svc("x").lastReason; !strings.Contains(r, "abandoned") || !strings.Contains(r, "not ready") {
				t.Fatalf("reason %q", r)
			}
		}},
		{"a failed readiness check marked permanent ends the set with 70", func(t *testing.T) {
			m := newMachine(t, session(Never), Options{})
			m.ready("x", Permanent(errors.New("came up at 800x600")))
			m.wantEnd(ExitFailed)
			if m.svc("x").restarts != 0 {
				t.Fatal("restarted")
			}
		}},
		{"dependents follow a restart of what they come after", func(t *testing.T) {
			m := up(t, Never, Options{})
			m.exit("x", Signaled(syscall.SIGKILL))
			m.wantSent("vnc TERM", "app TERM")
			m.want("app", Pending)
			m.want("vnc", Pending)
			m.want("x", Backoff)
			m.at(250 * time.Millisecond)
			m.want("x", Starting)
			m.want("app", Pending)
			m.ready("x", nil)
			m.want("app", Ready)
			if a := m.svc("app"); a.restarts != 0 || m.f.starts["app"] != 2 {
				t.Fatalf("app restarts %d, starts %d", a.restarts, m.f.starts["app"])
			}
		}},
		{"the app that dies with X before X is reaped follows it", func(t *testing.T) {
			m := up(t, Never, Options{})
			m.f.dyingPids[m.f.pids["x"]] = true
			m.exit("app", Exited(1)) // the XIO error comes first
			m.want("app", Pending)
			m.exit("x", Signaled(syscall.SIGKILL))
			m.at(250 * time.Millisecond)
			m.ready("x", nil)
			m.want("app", Ready)
		}},
		{"budget spent under never: the app's own code", func(t *testing.T) {
			m := up(t, Never, Options{})
			m.exit("app", Exited(9))
			m.wantEnd(9)
		}},
		{"budget spent under on-failure: the last code", func(t *testing.T) {
			m := up(t, OnFailure, Options{})
			for i := range 2 {
				m.exit("app", Exited(9))
				m.want("app", Backoff)
				m.at(time.Duration(i+1) * 10 * time.Second)
				m.want("app", Ready)
			}
			m.exit("app", Exited(9))
			m.wantEnd(9)
			if r := m.s.stop.reason; !strings.Contains(r, "restart budget spent (2 restarts within 1m0s)") {
				t.Fatalf("reason %q", r)
			}
		}},
		{"budget spent under always with a clean exit is a failure, never 0", func(t *testing.T) {
			m := up(t, Always, Options{})
			for i := range 2 {
				m.exit("app", Exited(0))
				m.at(time.Duration(i+1) * 10 * time.Second)
			}
			m.exit("app", Exited(0))
			m.wantEnd(ExitFailed)
		}},
		{"restarts off: the reason says so", func(t *testing.T) {
			specs := session(Never)
			specs[1].Restart.Budget = NoRestarts
			m := newMachine(t, specs, Options{})
			m.ready("x", nil)
			m.ready("vnc", nil)
			m.exit("vnc", Exited(1))
			m.wantEnd(ExitFailed)
			if r := m.s.stop.reason; !strings.Contains(r, "restarts are off") || strings.Contains(r, "-1") {
				t.Fatalf("reason %q", r)
			}
		}},
		{"a start that fails backs off in a growing streak", func(t *testing.T) {
			specs := session(Never)
			specs[0].Restart = Restart{Policy: Always, Budget: 5, Window: time.Minute}
			m := newMachine(t, specs, Options{})
			m.exit("x", Exited(1)) // a first run, long ago in the streak's eyes
			m.f.failing["x"] = errors.New("fork: resource temporarily unavailable")
			var delays []time.Duration
			for range 4 {
				sv := m.svc("x")
				delays = append(delays, sv.until.Sub(m.now))
				m.at(sv.until.Sub(t0))
			}
			want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}
			if fmt.Sprint(delays) != fmt.Sprint(want) {
				t.Fatalf("backoffs %v, want %v", delays, want)
			}
		}},
		{"the app's program not found gives 127, not a restart", func(t *testing.T) {
			specs := session(Always)
			m := newMachine(t, specs, Options{})
			m.f.failing["app"] = &startError{path: "nope", err: syscall.ENOENT}
			m.ready("x", nil)
			m.ready("vnc", nil)
			m.wantEnd(ExitNotFound)
		}},
		{"an optional service that fails for good leaves the app running", func(t *testing.T) {
			specs := append(session(Never), Spec{Name: "wm", Argv: []string{"wm"}, After: []string{"x"},
				Restart: Restart{Policy: OnFailure, Budget: NoRestarts}})
			m := newMachine(t, specs, Options{})
			m.ready("x", nil)
			m.ready("vnc", nil)
			m.exit("wm", Exited(1))
			m.want("wm", Failed)
			m.want("app", Ready)
			if m.s.stop.on {
				t.Fatal("the set stops")
			}
		}},
		{"signals are forwarded to the app only while it runs", func(t *testing.T) {
			m := up(t, OnFailure, Options{})
			m.signal(syscall.SIGHUP)
			m.wantSent("app HUP")
			m.exit("app", Exited(1))
			m.signal(syscall.SIGHUP)
			m.wantSent("app HUP")
		}},
		{"the screenshot runs before any stop, and the stop waits for it", func(t *testing.T) {
			m := up(t, Never, Options{BeforeFinish: func(context.Context, string) {}})
			m.signal(syscall.SIGTERM)
			if len(m.hooks) != 1 {
				t.Fatalf("hook runs: %d", len(m.hooks))
			}
			m.wantSent()
			m.at(time.Second)
			m.wantSent()
			m.hookDone()
			m.wantSent("app TERM", "vnc TERM", "x TERM")
			m.wantEnd(143)
		}},
		{"the app's exit during the screenshot still sets the code", func(t *testing.T) {
			m := up(t, Never, Options{BeforeFinish: func(context.Context, string) {}})
			m.signal(syscall.SIGTERM)
			m.exit("app", Exited(5))
			m.hookDone()
			m.wantEnd(5)
		}},
		{"a second SIGTERM does not wait for the screenshot", func(t *testing.T) {
			m := up(t, Never, Options{BeforeFinish: func(context.Context, string) {}})
			m.signal(syscall.SIGTERM)
			m.signal(syscall.SIGTERM)
			m.wantSent("app KILL", "vnc KILL", "x KILL")
			m.wantEnd(137)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}

// TestStopBudget is the promise the README makes: from the stop's start to the
// end of the loop takes at most the grace plus StopSlack, plus HookTimeout with a
// screenshot, whatever the services do: a screenshot that never returns, an app
// that ignores SIGTERM and an X server stuck in the kernel (SIGSTOP'd, or a GPU
// hang) that not even SIGKILL ends.
func TestStopBudget(t *testing.T) {
	for _, grace := range []time.Duration{100 * time.Millisecond, 5 * time.Second, time.Minute} {
		for _, hook := range []bool{false, true} {
			t.Run(fmt.Sprintf("grace %v, screenshot %v", grace, hook), func(t *testing.T) {
				t.Parallel()
				opts := Options{StopGrace: grace}
				if hook {
					opts.BeforeFinish = func(context.Context, string) {}
				}
				m := up(t, Never, opts)
				m.f.ignoreTerm["app"] = true
				m.f.ignoreTerm["vnc"] = true
				m.f.stuck["x"] = true
				start := m.now
				m.signal(syscall.SIGTERM)
				bound := StopBound(grace, hook) - sweepTime // the sweep's share comes after the loop
				m.at(start.Sub(t0) + bound)
				if !m.s.finished() {
					t.Fatalf("not finished %v after the stop began: %+v", bound, m.s.Status())
				}
				if m.s.stop.code != 137 {
					t.Fatalf("code %d, want 137 (the app killed after the grace)", m.s.stop.code)
				}
				m.want("x", Stopped)
				if r := m.svc("x").lastReason; !strings.Contains(r, "abandoned") {
					t.Fatalf("x: %q", r)
				}
			})
		}
	}
}

// TestRunActsOnASignalThatCameFirst: a SIGTERM delivered while the caller was
// still configuring stops the set before anything starts.
func TestRunActsOnASignalThatCameFirst(t *testing.T) {
	sigs := make(chan os.Signal, 4)
	sigs <- syscall.SIGTERM
	s, err := New(session(Never), Options{Logger: zaptest.NewLogger(t), Signals: sigs})
	if err != nil {
		t.Fatal(err)
	}
	f := newFake()
	s.procs = f
	if code := s.Run(context.Background()); code != 143 {
		t.Fatalf("exit %d, want 143", code)
	}
	if len(f.starts) != 0 {
		t.Fatalf("started %v", f.starts)
	}
}
