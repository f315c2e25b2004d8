package health

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xinit-go/xinit-go/supervisor"
)

func listen(t *testing.T, o Options) *Server {
	t.Helper()
	st := supervisor.Status{Services: []supervisor.ServiceStatus{svc("app", "main", supervisor.Ready)}}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	s, err := Listen(o, func() supervisor.Status { return st }, Info{Backend: "xvfb"}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Close(time.Second) })
	return s
}

func getHost(t *testing.T, addr, host, path string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestForeignHostIsRefused: a page whose name a browser resolved to this
// server (DNS rebinding) reads nothing; the server's own names, addresses (a
// kubelet's httpGet probe sends the pod's) and the names the user added pass.
func TestForeignHostIsRefused(t *testing.T) {
	s := listen(t, Options{Hosts: []string{"xinit.default.svc"}, Hostname: "session-0"})
	_, port, _ := net.SplitHostPort(s.Addr())
	for _, tc := range []struct {
		host string
		code int
	}{
		{"attacker.example:" + port, http.StatusMisdirectedRequest},
		{"127.0.0.1.nip.attacker.example", http.StatusMisdirectedRequest},
		{"localhost:" + port, 200},
		{"127.0.0.1:" + port, 200},
		{"10.244.3.17:" + port, 200},
		{"session-0:" + port, 200},
		{"xinit.default.svc:" + port, 200},
	} {
		for _, path := range []string{"/status", "/healthz", "/metrics"} {
			code, body, h := getHost(t, s.Addr(), tc.host, path)
			if code != tc.code {
				t.Errorf("GET %s with Host %q: %d, want %d", path, tc.host, code, tc.code)
			}
			if code == http.StatusMisdirectedRequest && (!strings.Contains(body, "XINIT_WEB_HOSTS") || strings.Contains(body, "xvfb")) {
				t.Errorf("GET %s with Host %q answered %q", path, tc.host, body)
			}
			if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("GET %s with Host %q may be framed: %v", path, tc.host, h)
			}
		}
	}
}

// idle opens n keep-alive connections, each after one answered request, and
// leaves them open.
func idle(t *testing.T, addr string, n int) {
	t.Helper()
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			// Past the per-client bound an older idle one was closed for it;
			// the test's point is what the probe gets next.
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// TestProbeGetsThroughIdleConnections: connections held open by someone on the
// network do not starve the liveness probe, through its socket or over TCP.
func TestProbeGetsThroughIdleConnections(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "health.sock")
	s := listen(t, Options{Socket: sock})
	idle(t, s.Addr(), maxConns)
	for i := range 3 {
		for _, socket := range []string{sock, ""} {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			err := Probe(ctx, s.Addr(), socket, "/healthz")
			cancel()
			if err != nil {
				t.Errorf("probe %d (socket %q) with %d idle connections: %v", i, socket, maxConns, err)
			}
		}
	}
	// Silent connections from the network: the socket's slots are apart.
	for range 2 * maxConns {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := Probe(ctx, s.Addr(), sock, "/healthz"); err != nil {
		t.Errorf("probe through the socket with the TCP slots full: %v", err)
	}
}

// TestProbeFallsBackToTCP: a socket the prober cannot use (another user's, or
// one left by a dead run) does not fail a probe that TCP can answer.
func TestProbeFallsBackToTCP(t *testing.T) {
	s := listen(t, Options{})
	stale := filepath.Join(t.TempDir(), "health.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // the file stays; nobody listens on it
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := Probe(ctx, s.Addr(), stale, "/healthz"); err != nil {
		t.Errorf("probe with a dead socket beside a live TCP port: %v", err)
	}
}
