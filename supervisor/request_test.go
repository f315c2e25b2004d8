package supervisor

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

func (m *machine) request(r request) {
	m.t.Helper()
	m.s.onRequest(r, m.now)
	m.step()
	m.chld()
}

func TestRequests(t *testing.T) {
	const grace = 5 * time.Second
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"Fail ends the set with its code, the app stopped like the rest", func(t *testing.T) {
			m := up(t, Never, Options{StopGrace: grace})
			m.f.termCode["app"] = 0 // the app's own code on SIGTERM must not win
			m.request(request{kind: reqFail, code: 75, reason: "screen frozen"})
			m.wantSent("app TERM", "vnc TERM", "x TERM")
			m.wantEnd(75)
			if m.s.stop.reason != "screen frozen" {
				t.Fatalf("reason %q", m.s.stop.reason)
			}
		}},
		{"Fail runs BeforeFinish first", func(t *testing.T) {
			m := up(t, Never, Options{StopGrace: grace, BeforeFinish: func(context.Context, string) {}})
			m.request(request{kind: reqFail, code: 75, reason: "screen frozen"})
			m.wantSent()
			if len(m.hooks) != 1 || m.hooks[0] != "screen frozen" {
				t.Fatalf("hooks %v", m.hooks)
			}
			m.hookDone()
			m.wantEnd(75)
		}},
		{"Fail while stopping changes nothing", func(t *testing.T) {
			m := up(t, Never, Options{StopGrace: grace})
			m.f.ignoreTerm["app"] = true
			m.signal(syscall.SIGTERM)
			m.request(request{kind: reqFail, code: 75, reason: "late"})
			m.at(time.Minute)
			m.wantEnd(137)
		}},
		{"Restart restarts an app whose policy is never, counted", func(t *testing.T) {
			m := up(t, Never, Options{StopGrace: grace})
			m.request(request{kind: reqRestart, service: "app", code: 75, reason: "screen frozen"})
			m.wantSent("app TERM")
			m.want("app", Backoff)
			if sv := m.svc("app"); sv.restarts != 1 || !strings.HasPrefix(sv.lastReason, "screen frozen; restarted") {
				t.Fatalf("restarts %d, reason %q", sv.restarts, sv.lastReason)
			}
			m.at(time.Second)
			m.want("app", Ready)
			if m.f.starts["app"] != 2 {
				t.Fatalf("app started %d times", m.f.starts["app"])
			}
			m.want("x", Ready)
			m.want("vnc", Ready)
		}},
		{"Restart kills an app that ignores its stop signal after the grace", func(t *testing.T) {
			m := up(t, Never, Options{StopGrace: grace})
			m.f.ignoreTerm["app"] = true
			m.request(request{kind: reqRestart, service: "app", reason: "screen frozen"})
			m.at(grace)
			m.wantSent("app TERM", "app KILL")
			m.want("app", Backoff)
		}},
		{"Restart past the budget ends the set with the request's code", func(t *testing.T) {
			m := up(t, Never, Options{StopGrace: grace}) // the app's budget is 2
			for i := 0; i < 2; i++ {
				m.request(request{kind: reqRestart, service: "app", code: 75, reason: "screen frozen"})
				m.at(m.now.Sub(t0) + 10*time.Second)
				m.want("app", Ready)
			}
			m.request(request{kind: reqRestart, service: "app", code: 75, reason: "screen frozen"})
			m.want("app", Failed)
			m.wantEnd(75)
		}},
		{"Restart past the budget without a code: the app's own", func(t *testing.T) {
			m := up(t, Never, Options{StopGrace: grace})
			for i := 0; i < 3; i++ {
				m.request(request{kind: reqRestart, service: "app", reason: "asked"})
				m.at(m.now.Sub(t0) + 10*time.Second)
			}
			m.wantEnd(143)
		}},
		{"Restart of a service that is not running, or unknown, does nothing", func(t *testing.T) {
			m := newMachine(t, session(Never), Options{})
			m.request(request{kind: reqRestart, service: "app", reason: "early"})
			m.request(request{kind: reqRestart, service: "nope", reason: "unknown"})
			m.wantSent()
			m.want("app", Pending)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t)
		})
	}
}

// TestRequestsReachTheLoop: Fail goes through Run's select, and a request after
// Run has returned says so instead of blocking.
func TestRequestsReachTheLoop(t *testing.T) {
	s, err := New(session(Never), Options{Logger: zaptest.NewLogger(t), StopGrace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.procs = newFake()
	done := make(chan int)
	go func() { done <- s.Run(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Fail(ctx, 75, "frozen"); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 75 {
		t.Fatalf("exit %d, want 75", code)
	}
	if err := s.Fail(ctx, 75, "again"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("after Run: %v", err)
	}
	if err := s.Restart(ctx, "app", 0, "again"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("after Run: %v", err)
	}
}
