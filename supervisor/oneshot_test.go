package supervisor

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// probeSession is an X session with a oneshot check between X and the app, as
// the GL renderer probe under XINIT_REQUIRE_GPU: x, vnc, then gl, then the app.
func probeSession(failCode int) []Spec {
	specs := session(Never)
	gl := Spec{Name: "gl", Argv: []string{"probe"}, Role: Required, After: []string{"x"}, Oneshot: true,
		FailCode: failCode, ReadyTimeout: 10 * time.Second, Restart: Restart{Policy: Never, Budget: NoRestarts}}
	specs[2].After = []string{"x", "gl"}
	return []Spec{specs[0], specs[1], gl, specs[2]}
}

// probeUp brings probeSession up to the gl probe's run.
func probeUp(t *testing.T, failCode int) *machine {
	m := newMachine(t, probeSession(failCode), Options{StopGrace: 5 * time.Second})
	m.ready("x", nil)
	m.ready("vnc", nil)
	m.want("gl", Starting)
	m.want("app", Pending)
	return m
}

func TestOneshot(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"exit 0 is done: the app starts after it, and nothing restarts it", func(t *testing.T) {
			m := probeUp(t, 69)
			m.at(120 * time.Millisecond)
			m.exit("gl", Exited(0))
			m.want("gl", Done)
			m.want("app", Ready)
			st := m.s.Status()
			for _, sv := range st.Services {
				if sv.Name == "gl" && (sv.State != Done || sv.ReadyAfter != 120*time.Millisecond || sv.PID != 0 || sv.LastExitCode != 0) {
					t.Fatalf("gl's status %+v", sv)
				}
			}
			m.at(time.Hour)
			if m.f.starts["gl"] != 1 {
				t.Fatalf("gl started %d times", m.f.starts["gl"])
			}
			m.want("gl", Done)
		}},
		{"the app's exit after a done oneshot is the app's own code, not a follow", func(t *testing.T) {
			m := probeUp(t, 69)
			m.exit("gl", Exited(0))
			m.exit("app", Exited(3))
			m.want("app", Failed)
			m.wantSent("vnc TERM", "x TERM")
			m.wantEnd(3)
		}},
		{"its failure ends the set with its fail code, and the app never starts", func(t *testing.T) {
			m := probeUp(t, 69)
			m.exit("gl", Exited(69))
			m.want("gl", Failed)
			m.wantSent("vnc TERM", "x TERM")
			m.wantEnd(69)
			if m.f.starts["app"] != 0 {
				t.Fatal("the app started")
			}
			if r := m.s.stop.reason; !strings.Contains(r, "required service gl failed") || !strings.Contains(r, "69") {
				t.Fatalf("reason %q", r)
			}
		}},
		{"without a fail code a required oneshot fails with 70", func(t *testing.T) {
			m := probeUp(t, 0)
			m.exit("gl", Exited(1))
			m.wantEnd(ExitFailed)
		}},
		{"a run past its ready timeout is killed and fails with its code", func(t *testing.T) {
			m := probeUp(t, 69)
			m.at(10*time.Second - time.Millisecond)
			m.want("gl", Starting)
			m.at(10 * time.Second)
			m.wantSent("gl KILL", "vnc TERM", "x TERM")
			m.wantEnd(69)
			if r := m.svc("gl").lastReason; !strings.Contains(r, "not ready after 10s") {
				t.Fatalf("reason %q", r)
			}
		}},
		{"a restart of X runs it again before the app starts again", func(t *testing.T) {
			m := probeUp(t, 69)
			m.exit("gl", Exited(0))
			m.want("app", Ready)
			m.exit("x", Signaled(syscall.SIGKILL))
			m.want("gl", Pending)
			m.want("app", Pending)
			m.at(250 * time.Millisecond)
			m.ready("x", nil)
			m.want("gl", Starting)
			m.want("app", Pending)
			m.exit("gl", Exited(0))
			m.want("app", Ready)
			if m.f.starts["gl"] != 2 || m.f.starts["app"] != 2 || m.svc("gl").restarts != 0 || m.svc("app").restarts != 0 {
				t.Fatalf("starts %v, restarts gl %d app %d", m.f.starts, m.svc("gl").restarts, m.svc("app").restarts)
			}
		}},
		{"the app that dies with X before X is reaped follows it, past the done oneshot", func(t *testing.T) {
			m := probeUp(t, 69)
			m.exit("gl", Exited(0))
			m.f.dyingPids[m.f.pids["x"]] = true
			m.exit("app", Exited(1))
			m.want("app", Pending)
			m.exit("x", Signaled(syscall.SIGKILL))
			m.want("gl", Pending)
			m.at(250 * time.Millisecond)
			m.ready("x", nil)
			m.exit("gl", Exited(0))
			m.want("app", Ready)
		}},
		{"X dying during its run: it follows X and runs again", func(t *testing.T) {
			m := probeUp(t, 69)
			m.exit("x", Signaled(syscall.SIGKILL))
			m.chld()
			m.want("gl", Pending)
			if m.s.stop.on {
				t.Fatal("the set stops")
			}
			m.at(250 * time.Millisecond)
			m.ready("x", nil)
			m.want("gl", Starting)
		}},
		{"a SIGTERM during its run stops it, and the code is the signal's", func(t *testing.T) {
			m := probeUp(t, 69)
			m.signal(syscall.SIGTERM)
			m.want("gl", Stopped)
			m.wantEnd(143)
			if m.f.starts["app"] != 0 {
				t.Fatal("the app started")
			}
		}},
		{"an optional oneshot that fails leaves what does not come after it running", func(t *testing.T) {
			specs := append(session(Never), Spec{Name: "gl", Argv: []string{"probe"}, After: []string{"x"}, Oneshot: true,
				Restart: Restart{Policy: Never, Budget: NoRestarts}})
			m := newMachine(t, specs, Options{})
			m.ready("x", nil)
			m.ready("vnc", nil)
			m.want("app", Ready)
			m.exit("gl", Exited(1))
			m.want("gl", Failed)
			m.want("app", Ready)
			if m.s.stop.on {
				t.Fatal("the set stops")
			}
		}},
		{"a oneshot under on-failure runs again after a failure, then is done", func(t *testing.T) {
			specs := probeSession(69)
			specs[2].Restart = Restart{Policy: OnFailure, Budget: 2, Window: time.Minute}
			m := newMachine(t, specs, Options{})
			m.ready("x", nil)
			m.ready("vnc", nil)
			m.exit("gl", Exited(1))
			m.want("gl", Backoff)
			m.at(250 * time.Millisecond)
			m.want("gl", Starting)
			m.exit("gl", Exited(0))
			m.want("gl", Done)
			m.want("app", Ready)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}

func TestValidateOneshot(t *testing.T) {
	cases := []struct {
		spec Spec
		want string
	}{
		{Spec{Name: "a", Argv: []string{"a"}, Role: Main, Oneshot: true}, "main service cannot be a oneshot"},
		{Spec{Name: "a", Argv: []string{"a"}, Oneshot: true, Ready: probed}, "takes no readiness check"},
		{Spec{Name: "a", Argv: []string{"a"}, FailCode: 69}, "fail code is for a required service"},
		{Spec{Name: "a", Argv: []string{"a"}, Role: Required, FailCode: 300}, "not an exit code"},
	}
	for _, c := range cases {
		err := Validate([]Spec{c.spec})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.spec, err, c.want)
		}
	}
	if err := Validate(probeSession(69)); err != nil {
		t.Fatal(err)
	}
}
