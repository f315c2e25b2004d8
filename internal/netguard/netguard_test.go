package netguard

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHosts(t *testing.T) {
	t.Parallel()
	h := NewHosts("10.0.0.7:6080", "session-7f9c", []string{"view.example.com", "*.apps.example.org", "Upper.Example."}, "XINIT_WEB_HOSTS")
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"localhost", true},
		{"localhost:6080", true},
		{"LOCALHOST.:6080", true},
		{"novnc.localhost:6080", true},
		{"127.0.0.1:6080", true},
		{"[::1]:6080", true},
		{"10.244.3.17:9810", true}, // a kubelet probe: the pod's address
		{"192.0.2.1", true},        // any address literal: nothing to rebind
		{"[fe80::1%25eth0]:6080", true},
		{"session-7f9c:6080", true}, // the machine's name
		{"view.example.com", true},
		{"view.example.com:443", true},
		{"a.apps.example.org", true},
		{"upper.example", true},
		{"apps.example.org", false},
		{"attacker.example", false},
		{"attacker.example:6080", false},
		{"127.0.0.1.attacker.example", false},
		{"localhost.attacker.example", false},
		{"view.example.com.attacker.example", false},
		{"", false},
	} {
		if got := h.Allowed(tc.host); got != tc.ok {
			t.Errorf("Allowed(%q) = %v, want %v", tc.host, got, tc.ok)
		}
	}
}

func TestHostsHandler(t *testing.T) {
	t.Parallel()
	h := NewHosts(":6080", "", nil, "XINIT_WEB_HOSTS")
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "the page") })
	for _, tc := range []struct {
		host string
		code int
		has  string
	}{
		{"localhost:6080", 200, "the page"},
		{"rebound.attacker.example:6080", http.StatusMisdirectedRequest, "XINIT_WEB_HOSTS="},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = tc.host
		w := httptest.NewRecorder()
		h.Handler(next).ServeHTTP(w, r)
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.has) {
			t.Errorf("Host %q: %d %q, want %d with %q", tc.host, w.Code, w.Body.String(), tc.code, tc.has)
		}
	}
}

// serve runs an http.Server on a Listener with lim; the handler blocks while
// a request's path is /hold until release is closed.
func serve(t *testing.T, lim Limits) (addr string, l *Listener, release func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l = NewListener(ln, lim)
	hold := make(chan struct{})
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/hold" {
				w.WriteHeader(200)
				w.(http.Flusher).Flush()
				<-hold
			}
			io.WriteString(w, "ok")
		}),
		IdleTimeout: time.Minute, ConnState: ConnState}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = srv.Serve(l) }()
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	t.Cleanup(func() { release(); srv.Close(); wg.Wait() })
	return ln.Addr().String(), l, release
}

// conn is a raw keep-alive HTTP/1.1 connection from a chosen loopback address.
type client struct {
	c net.Conn
	r *bufio.Reader
}

func dialFrom(t *testing.T, from, addr string) *client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{c, bufio.NewReader(c)}
}

// get sends a request and reads the status line and headers; for /hold the
// body never ends, for others it reads the body too.
func (c *client) get(path string) error {
	_ = c.c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c.c, "GET "+path+" HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return err
	}
	if path != "/hold" {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return err
}

func waitOpen(t *testing.T, l *Listener, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for l.Open() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections open, want %d", l.Open(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIdleGivesWay: idle keep-alive connections, one client's or many's, give
// up their slots to a newcomer; busy ones do not, and the newcomer is closed.
func TestIdleGivesWay(t *testing.T) {
	t.Parallel()
	addr, l, release := serve(t, Limits{Max: 4, PerClient: 2})
	// One client's two idle connections: a third request of its own gets in.
	a1, a2 := dialFrom(t, "127.0.0.1", addr), dialFrom(t, "127.0.0.1", addr)
	for _, c := range []*client{a1, a2} {
		if err := c.get("/"); err != nil {
			t.Fatal(err)
		}
	}
	if err := dialFrom(t, "127.0.0.1", addr).get("/"); err != nil {
		t.Fatalf("a client's third connection with two idle: %v", err)
	}
	// The whole server full of idle connections from several clients.
	for _, from := range []string{"127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"} {
		if err := dialFrom(t, from, addr).get("/"); err != nil {
			t.Fatal(err)
		}
	}
	waitOpen(t, l, 4)
	if err := dialFrom(t, "127.0.0.4", addr).get("/"); err != nil {
		t.Fatalf("a new client with every slot idle: %v", err)
	}
	// Two busy connections of one client: its third is closed at once.
	b1, b2 := dialFrom(t, "127.0.0.5", addr), dialFrom(t, "127.0.0.5", addr)
	for _, c := range []*client{b1, b2} {
		if err := c.get("/hold"); err != nil {
			t.Fatal(err)
		}
	}
	b3 := dialFrom(t, "127.0.0.5", addr)
	if err := b3.get("/"); err == nil {
		t.Fatal("a third connection beside two busy ones of the same client was served")
	}
	// Still room for others: the busy ones are not taken.
	if err := dialFrom(t, "127.0.0.6", addr).get("/"); err != nil {
		t.Fatalf("another client beside the busy ones: %v", err)
	}
	release()
}

// TestLoopbackReserve: every slot held by busy network clients (here
// 127.0.0.2 and .3, which are not the reserve's), a client at 127.0.0.1 (the
// container's own probe) still gets in, up to the reserve; without a reserve
// it is closed.
func TestLoopbackReserve(t *testing.T) {
	t.Parallel()
	for _, reserve := range []int{0, 2} {
		addr, _, release := serve(t, Limits{Max: 2, PerClient: 1, Loopback: reserve})
		for _, from := range []string{"127.0.0.2", "127.0.0.3"} {
			if err := dialFrom(t, from, addr).get("/hold"); err != nil {
				t.Fatal(err)
			}
		}
		err := dialFrom(t, "127.0.0.1", addr).get("/")
		if reserve > 0 && err != nil {
			t.Errorf("reserve %d: the probe at 127.0.0.1 with every network slot busy: %v", reserve, err)
		}
		if reserve == 0 && err == nil {
			t.Error("no reserve: 127.0.0.1 was served beyond Max")
		}
		release()
	}
}
