package web

import (
	"bufio"
	"context"
	"crypto/tls"
	"github.com/xinit-go/xinit-go/internal/netguard"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func request(t *testing.T, addr, host, path string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+path, nil)
	must(t, err)
	req.Host = host
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestForeignHostIsRefused: DNS rebinding. A page whose own name a browser
// resolved to the view sends that name as Host: the page, the files and the
// bridge all answer 421, so neither the page nor a WebSocket is had; the view's
// own names, any address, and the names the user added pass.
func TestForeignHostIsRefused(t *testing.T) {
	s, _ := start(t, Options{Hosts: []string{"view.example.com"}, Hostname: "session-0"})
	_, port, _ := net.SplitHostPort(s.Addr())
	for _, tc := range []struct {
		host string
		code int
	}{
		{"rebound.attacker.example:" + port, http.StatusMisdirectedRequest},
		{"localhost.attacker.example:" + port, http.StatusMisdirectedRequest},
		{"localhost:" + port, 200},
		{"127.0.0.1:" + port, 200},
		{"session-0:" + port, 200},
		{"view.example.com", 200},
	} {
		for _, path := range []string{"/", "/core/rfb.js"} {
			code, body, _ := request(t, s.Addr(), tc.host, path)
			if code != tc.code {
				t.Errorf("GET %s with Host %q: %d %q, want %d", path, tc.host, code, body, tc.code)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The WebSocket, as a rebound page would open it (Origin and Host agree).
	h := http.Header{"Origin": {"http://rebound.attacker.example:" + port}}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", s.Addr())
	}}}
	_, resp, err := dial(ctx, "ws://rebound.attacker.example:"+port+"/websockify", h, client)
	if err == nil || resp == nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("a WebSocket for a rebound name: %v, %+v", err, resp)
	}
}

// TestNoFramingAnywhere: every answer, noVNC's own pages included, refuses to
// be framed by another site.
func TestNoFramingAnywhere(t *testing.T) {
	dir := root(t)
	must(t, os.WriteFile(filepath.Join(dir, "vnc_lite.html"), []byte("<html>noVNC</html>"), 0o644))
	s, _ := start(t, Options{Root: dir})
	for _, path := range []string{"/", "/xinit-view.js", "/vnc_lite.html", "/core/rfb.js", "/missing", "/websockify"} {
		_, _, h := request(t, s.Addr(), "localhost", path)
		if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("GET %s may be framed: X-Frame-Options %q, Content-Security-Policy %q", path, h.Get("X-Frame-Options"), h.Get("Content-Security-Policy"))
		}
	}
	// The refusal of a foreign name too.
	code, _, h := request(t, s.Addr(), "evil.example.com", "/")
	if code != http.StatusMisdirectedRequest || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("a foreign Host: %d, X-Frame-Options %q; want 421 that may not be framed", code, h.Get("X-Frame-Options"))
	}
}

// TestAClientThatStopsReadingLetsGo: a client that pipelines requests for a
// large file and never reads holds its connection only until the write
// timeout; then the slot is free again (the server bounds connections to one
// here). Before, such a connection held its slot for good.
func TestAClientThatStopsReadingLetsGo(t *testing.T) {
	dir := root(t)
	must(t, os.MkdirAll(filepath.Join(dir, "core"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "core", "big.js"), make([]byte, 4<<20), 0o644))
	s, _ := start(t, Options{Root: dir, MaxConns: 1, WriteTimeout: 500 * time.Millisecond})
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	req := "GET /core/big.js HTTP/1.1\r\nHost: localhost\r\n\r\n"
	if _, err := c.Write([]byte(strings.Repeat(req, 20))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + s.Addr() + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the page still had no slot 20 s after the stuck client's write timeout")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDotfilesAndCaching: nothing under a name that starts with a dot is
// served (a web root that is a git checkout), and noVNC's files are
// revalidated, so an upgrade reaches browsers.
func TestDotfilesAndCaching(t *testing.T) {
	dir := root(t)
	must(t, os.MkdirAll(filepath.Join(dir, ".git"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, ".git", "config"), []byte("[remote] url = https://token@example.com"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, ".htpasswd"), []byte("user:hash"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "core", ".env"), []byte("SECRET=1"), 0o644))
	s, _ := start(t, Options{Root: dir})
	for _, path := range []string{"/.git/config", "/.htpasswd", "/core/.env", "/core/../.git/config", "/%2egit/config"} {
		if code, body, _ := request(t, s.Addr(), "localhost", path); code != 404 {
			t.Errorf("GET %s: %d %q, want 404", path, code, body)
		}
	}
	code, _, h := request(t, s.Addr(), "localhost", "/core/rfb.js")
	if code != 200 || h.Get("Cache-Control") != "no-cache" {
		t.Errorf("GET /core/rfb.js: %d, Cache-Control %q; want no-cache", code, h.Get("Cache-Control"))
	}
}

// TestIdleConnectionsDoNotBlockThePage: MaxConns idle keep-alive connections
// (the default 128) do not keep a person from loading the page.
func TestIdleConnectionsDoNotBlockThePage(t *testing.T) {
	s, _ := start(t, Options{})
	for range DefaultMaxConns {
		c, err := net.Dial("tcp", s.Addr())
		must(t, err)
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET /core/rfb.js HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	c := &http.Client{Timeout: 3 * time.Second}
	start := time.Now()
	if code, _ := get(t, c, "http://"+s.Addr()+"/"); code != 200 {
		t.Errorf("GET / with %d idle connections: %d", DefaultMaxConns, code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("GET / with %d idle connections took %v", DefaultMaxConns, d)
	}
}

// TestLoginHasADeadline: WebSockets that never answer VNC's challenge lose
// their viewer slots after LoginTimeout; the owner then gets in.
func TestLoginHasADeadline(t *testing.T) {
	s, _ := start(t, Options{MaxViewers: 2, LoginTimeout: 500 * time.Millisecond})
	url := "ws://" + s.Addr() + "/websockify"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 2 {
		c, _, err := dial(ctx, url, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		// Silent after the banner: the challenge is never answered.
	}
	var owner *websocket.Conn
	deadline := time.Now().Add(3 * time.Second)
	for owner == nil {
		c, resp, err := dial(ctx, url, nil, nil)
		if err == nil {
			owner = c
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the owner is still refused after the silent logins' deadline: %v, %+v", err, resp)
		}
		time.Sleep(50 * time.Millisecond)
	}
	defer owner.CloseNow()
	if ok, err := login(ctx, owner, rightAnswer); !ok || err != nil {
		t.Fatalf("the owner's login: %v, %v", ok, err)
	}
	if v := counterValue(t, s.m.rejected.WithLabelValues(rejectLoginTimeout)); v != 2 {
		t.Errorf("rejected login_timeout = %v, want 2", v)
	}
}

// TestPasswordGuessesAreSlowed: after netguard.FreeGuesses wrong passwords from one
// address, the next attempt must wait (429 with Retry-After); the right
// password afterwards clears the record.
func TestPasswordGuessesAreSlowed(t *testing.T) {
	s, _ := start(t, Options{})
	url := "ws://" + s.Addr() + "/websockify"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	try := func(answer []byte) (bool, *http.Response, error) {
		c, resp, err := dial(ctx, url, nil, nil)
		if err != nil {
			return false, resp, err
		}
		defer c.CloseNow()
		ok, err := login(ctx, c, answer)
		return ok, nil, err
	}
	wrong := []byte("wrong-password!!")
	for i := range netguard.FreeGuesses + 1 {
		if ok, resp, err := try(wrong); ok || resp != nil {
			t.Fatalf("wrong password %d: let in %v, %+v, %v", i+1, ok, resp, err)
		}
	}
	_, resp, err := try(wrong)
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a guess right after %d wrong passwords: %+v, %v; want 429", netguard.FreeGuesses+1, resp, err)
	}
	wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if wait < 1 {
		t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	time.Sleep(time.Duration(wait) * time.Second)
	// The right password, kept open: its viewer stays, its login is over.
	c, resp, err := dial(ctx, url, nil, nil)
	if err != nil {
		t.Fatalf("the right password after the wait: %+v, %v", resp, err)
	}
	defer c.CloseNow()
	if ok, err := login(ctx, c, rightAnswer); !ok {
		t.Fatalf("the right password after the wait: %v", err)
	}
	// The viewer has its result before the bridge records it: wait for the
	// bridge to count the viewer, which it does after the record.
	for end := time.Now().Add(5 * time.Second); counterValue(t, s.m.conns) < 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the bridge never counted the viewer")
		}
	}
	if ok, resp, err := try(wrong); ok || resp != nil {
		t.Fatalf("a wrong password after a right one: %v, %+v, %v", ok, resp, err)
	}
	// The viewer hears "wrong" before the bridge counts it: wait for the count.
	var v float64
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if v = counterValue(t, s.m.rejected.WithLabelValues(rejectPassword)); v == netguard.FreeGuesses+2 {
			break
		}
	}
	if v != netguard.FreeGuesses+2 {
		t.Errorf("rejected password = %v, want %d", v, netguard.FreeGuesses+2)
	}
}

func TestServerErrorsAreLogged(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	selfSigned(t, cert, key)
	core, logs := observer.New(zapcore.WarnLevel)
	s, _ := start(t, Options{TLSCert: cert, TLSKey: key, Logger: zap.New(core)})
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Get("http://" + s.Addr() + "/")
	if err == nil {
		resp.Body.Close()
	}
	tc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: "not-the-name"}}}
	if resp, err := tc.Get("https://" + s.Addr() + "/"); err == nil {
		resp.Body.Close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for logs.FilterMessageSnippet("TLS handshake error").Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no TLS handshake error at Warn; logged: %v", logs.All())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
