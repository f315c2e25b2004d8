package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

// TestHealthThroughStates follows a real xvfb session over HTTP: starting (503),
// ready (200), X killed (healthz stays 200 while X restarts within budget, readyz
// 503), ready again, and the probe subcommand against a live and a dead instance.
func TestHealthThroughStates(t *testing.T) {
	starts := filepath.Join(t.TempDir(), "starts")
	s := startX(t, "xvfb", []string{"VNC_PASSWORD=" + password}, helperCmd("append", starts, "app"))

	// Before X is ready, readyz answers 503 and healthz 200.
	sawStarting := false
	testutil.Eventually(t, 60*time.Second, "readyz to answer 200", func() bool {
		code, body := s.get("/readyz")
		if code == 503 && strings.Contains(body, "not ready") {
			sawStarting = true
			if hc, _ := s.get("/healthz"); hc != 200 {
				t.Errorf("healthz %d while starting", hc)
			}
		}
		return code == 200
	})
	if !sawStarting {
		t.Error("never saw readyz 503 while the session started")
	}
	probe := func(args ...string) int {
		return run(t.Context(), append([]string{"health"}, args...), system{environ: []string{"XINIT_HEALTH_ADDR=" + s.healthAddr}},
			new(strings.Builder), new(strings.Builder))
	}
	if c := probe(); c != 0 {
		t.Errorf("xinit-go health against a live instance: %d", c)
	}
	if c := probe("--ready"); c != 0 {
		t.Errorf("xinit-go health --ready against a ready instance: %d", c)
	}
	code, body := s.get("/status")
	if code != 200 || !strings.Contains(body, `"backend": "xvfb"`) || !strings.Contains(body, `"name": "vnc"`) || !strings.Contains(body, `"resolution": "1024x768x24"`) {
		t.Errorf("status %d:\n%s", code, body)
	}

	testutil.Eventually(t, 20*time.Second, "the app's first start", func() bool {
		b, _ := os.ReadFile(starts)
		return countLine(string(b), "app") == 1
	})
	// Kill X: healthz stays 200 (restart within budget), readyz goes 503, then 200 again.
	x := s.xPID()
	if x == 0 {
		t.Fatal("no X server") // kill(0) would signal the test's own process group
	}
	if err := syscall.Kill(x, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	sawRestarting := false
	testutil.Eventually(t, 30*time.Second, "the session to be ready after X came back", func() bool {
		hc, hb := s.get("/healthz")
		// 0: no answer within the client's 2 s on a loaded machine; what
		// matters is that no answer says unhealthy.
		if hc != 0 && hc != 200 {
			t.Errorf("healthz %d during the restart: %s", hc, hb)
		}
		rc, _ := s.get("/readyz")
		if rc == 503 {
			sawRestarting = true
		}
		b, _ := os.ReadFile(starts)
		return sawRestarting && rc == 200 && countLine(string(b), "app") == 2
	})
	_, metrics := s.get("/metrics")
	for _, want := range []string{`xinit_service_restarts_total{service="x"} 1`, `xinit_service_up{service="x"} 1`, `xinit_service_up{service="vnc"} 1`, "process_resident_memory_bytes"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, path := range []string{"/status", "/healthz", "/readyz", "/metrics"} {
		if _, b := s.get(path); strings.Contains(b, password) {
			t.Errorf("%s shows the password", path)
		}
	}

	s.p.Signal(syscall.SIGTERM)
	if c := s.p.Wait(30 * time.Second); c != 0 {
		t.Errorf("exit %d", c)
	}
	if c := probe(); c != 1 {
		t.Errorf("xinit-go health against a dead instance: %d, want 1", c)
	}
}

// TestProbeSurvivesAFloodOfIdleConnections: connections that anyone on the
// pod's network holds open on the health port (idle keep-alive ones and silent
// ones, more than every slot) do not fail the liveness probe, which asks through
// its socket in the runtime directory; a foreign Host reads nothing.
func TestProbeSurvivesAFloodOfIdleConnections(t *testing.T) {
	s := startX(t, "xvfb", []string{"VNC_PASSWORD=" + password}, helperCmd("sleep"))
	s.waitReady()
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := range 48 {
		c, err := net.Dial("tcp", s.healthAddr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if i%2 == 0 {
			// Half of them idle after one request, half silent.
			_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
		}
	}
	env := []string{"XINIT_HEALTH_ADDR=" + s.healthAddr, "XINIT_RUNTIME_DIR=" + filepath.Join(s.dir, "run")}
	for i := range 3 {
		var stderr strings.Builder
		if c := run(t.Context(), []string{"health"}, system{environ: env}, new(strings.Builder), &stderr); c != 0 {
			t.Errorf("xinit-go health %d with 48 connections held: exit %d: %s", i, c, stderr.String())
		}
		time.Sleep(time.Second)
	}
	req, _ := http.NewRequest("GET", "http://"+s.healthAddr+"/status", nil)
	req.Host = "rebound.attacker.example"
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest || strings.Contains(string(b), "xvfb") {
		t.Errorf("/status for a foreign Host: %d %s", resp.StatusCode, b)
	}
	s.p.Signal(syscall.SIGTERM)
	s.p.Wait(30 * time.Second)
}
