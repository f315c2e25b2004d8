package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/xinit-go/xinit-go/supervisor"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rightAnswer is the answer to any challenge that fakeVNC takes for the right
// password.
var rightAnswer = []byte("0123456789abcdef")

// fakeVNC speaks RFB 3.8's login (offering None and VNC authentication), then
// echoes what it gets: enough to prove the bridge's plumbing (the real x11vnc
// is in cmd/xinit-go's browser tests).
func fakeVNC(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); <-done; wg.Wait() })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				// Bound each connection, so that cleanup never waits long.
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				_, _ = c.Write([]byte("RFB 003.008\n"))
				buf := make([]byte, 16)
				if _, err := io.ReadFull(c, buf[:12]); err != nil {
					return
				}
				_, _ = c.Write([]byte{2, secNone, secVNC})
				if _, err := io.ReadFull(c, buf[:1]); err != nil {
					return
				}
				if buf[0] == secVNC {
					_, _ = c.Write([]byte("challenge-16byte"))
					if _, err := io.ReadFull(c, buf[:16]); err != nil {
						return
					}
					if string(buf) != string(rightAnswer) {
						_, _ = c.Write([]byte{0, 0, 0, 1, 0, 0, 0, 3, 'b', 'a', 'd'})
						return
					}
				}
				_, _ = c.Write([]byte{0, 0, 0, 0})
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// login does a viewer's side of RFB 3.8's login through the bridge: None when
// answer is nil, else VNC authentication with answer. It reports whether VNC
// let the viewer in.
func login(ctx context.Context, c *websocket.Conn, answer []byte) (bool, error) {
	nc := websocket.NetConn(ctx, c, websocket.MessageBinary)
	if _, err := nc.Write([]byte("RFB 003.008\n")); err != nil {
		return false, err
	}
	buf := make([]byte, 16)
	if _, err := io.ReadFull(nc, buf[:3]); err != nil {
		return false, err
	}
	if answer == nil {
		if _, err := nc.Write([]byte{secNone}); err != nil {
			return false, err
		}
	} else {
		if _, err := nc.Write([]byte{secVNC}); err != nil {
			return false, err
		}
		if _, err := io.ReadFull(nc, buf); err != nil {
			return false, err
		}
		if _, err := nc.Write(answer); err != nil {
			return false, err
		}
	}
	if _, err := io.ReadFull(nc, buf[:4]); err != nil {
		return false, err
	}
	return buf[3] == 0, nil
}

type fakeStatus struct{ state atomic.Value }

func (f *fakeStatus) get() supervisor.Status {
	return supervisor.Status{Services: []supervisor.ServiceStatus{{Name: "vnc", State: f.state.Load().(supervisor.State)}}}
}

func root(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "core"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "core", "rfb.js"), []byte("export default class RFB {}"), 0o644))
	secret := filepath.Join(t.TempDir(), "secret")
	must(t, os.WriteFile(secret, []byte("not for the web"), 0o600))
	must(t, os.Symlink(secret, filepath.Join(dir, "core", "link.js")))
	must(t, os.Symlink(filepath.Dir(secret), filepath.Join(dir, "out")))
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func start(t *testing.T, o Options) (*Server, *fakeStatus) {
	t.Helper()
	st := &fakeStatus{}
	st.state.Store(supervisor.Ready)
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Root == "" {
		o.Root = root(t)
	}
	if o.VNCAddr == "" {
		o.VNCAddr = fakeVNC(t)
	}
	o.VNCService, o.Status = "vnc", st.get
	if o.Logger == nil {
		o.Logger = zaptest.NewLogger(t)
	}
	s, err := Listen(o)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s, st
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestFiles(t *testing.T) {
	s, _ := start(t, Options{})
	base := "http://" + s.Addr()
	c := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range []struct {
		path string
		code int
		has  string
	}{
		{"/", 200, "xinit-view.js"},
		{"/xinit-view.js", 200, "import RFB from './core/rfb.js'"},
		{"/core/rfb.js", 200, "class RFB"},
		{"/core/", 404, ""},                         // no directory listing
		{"/core/link.js", 404, ""},                  // a link to a file outside
		{"/out/secret", 404, ""},                    // a link to a directory outside
		{"/../../etc/passwd", 404, ""},              // cleaned to /etc/passwd: not in the root
		{"/websockify", 426, "open / in a browser"}, // a plain GET is no WebSocket
	} {
		code, body := get(t, c, base+tc.path)
		if code != tc.code || !strings.Contains(body, tc.has) {
			t.Errorf("GET %s: %d %q, want %d with %q", tc.path, code, body, tc.code, tc.has)
		}
		if strings.Contains(body, "not for the web") {
			t.Errorf("GET %s served a file outside the root", tc.path)
		}
	}
}

// dial opens the bridge and reads the RFB banner through it.
func dial(ctx context.Context, url string, h http.Header, client *http.Client) (*websocket.Conn, *http.Response, error) {
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{"binary"}, HTTPClient: client})
	if err != nil {
		return nil, resp, err
	}
	typ, b, err := c.Read(ctx)
	if err != nil || typ != websocket.MessageBinary || string(b) != "RFB 003.008\n" {
		c.CloseNow()
		return nil, resp, &net.OpError{Op: "banner", Err: io.ErrUnexpectedEOF}
	}
	return c, resp, nil
}

func TestBridge(t *testing.T) {
	s, st := start(t, Options{MaxViewers: 2})
	url := "ws://" + s.Addr() + "/websockify"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c1, _, err := dial(ctx, url, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.CloseNow()
	if ok, err := login(ctx, c1, nil); !ok || err != nil {
		t.Fatalf("login: %v, %v", ok, err)
	}
	if err := c1.Write(ctx, websocket.MessageBinary, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c1.Read(ctx); err != nil || string(b) != "hello" {
		t.Fatalf("echo through the bridge: %q, %v", b, err)
	}

	// Same origin passes; another site's page is refused.
	h := http.Header{"Origin": {"http://" + s.Addr()}}
	c2, _, err := dial(ctx, url, h, nil)
	if err != nil {
		t.Fatalf("same origin: %v", err)
	}
	_, resp, err := dial(ctx, url, http.Header{"Origin": {"http://evil.example"}}, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("another origin: %v, %+v", err, resp)
	}

	// Past MaxViewers: 503.
	_, resp, err = dial(ctx, url, nil, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a third viewer with MaxViewers 2: %v, %+v", err, resp)
	}
	if v := counterValue(t, s.m.rejected.WithLabelValues(rejectLimit)); v != 1 {
		t.Errorf("rejected limit = %v", v)
	}
	c2.Close(websocket.StatusNormalClosure, "")

	// x11vnc restarting: 503, then fine again.
	st.state.Store(supervisor.Backoff)
	_, resp, err = dial(ctx, url, nil, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("VNC in backoff: %v, %+v", err, resp)
	}
	st.state.Store(supervisor.Ready)
	var c3 *websocket.Conn
	deadline := time.Now().Add(5 * time.Second)
	for c3 == nil { // c2's slot frees when its bridge has ended
		if c3, _, err = dial(ctx, url, nil, nil); err != nil && time.Now().After(deadline) {
			t.Fatalf("after VNC came back: %v", err)
		}
	}
	c3.CloseNow()

	if v := counterValue(t, s.m.rejected.WithLabelValues(rejectOrigin)); v != 1 {
		t.Errorf("rejected origin = %v", v)
	}
	// The copy counts a write once it returns, which can be after the echo
	// has come back.
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		v := counterValue(t, s.m.bytes.WithLabelValues("from_browser"))
		if v >= 5 {
			break
		}
		if time.Now().After(end) {
			t.Errorf("bytes from the browser = %v", v)
			break
		}
	}
	// Shutdown ends the open bridge.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	s.Shutdown(ctx2)
	if _, _, err := c1.Read(ctx); err == nil {
		t.Error("the bridge outlived Shutdown")
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	selfSigned(t, cert, key)
	s, _ := start(t, Options{TLSCert: cert, TLSKey: key})
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Errorf("URL %s", s.URL())
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if code, body := get(t, client, "https://"+s.Addr()+"/"); code != 200 || !strings.Contains(body, "xinit-view.js") {
		t.Errorf("GET / over HTTPS: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := dial(ctx, "wss://"+s.Addr()+"/websockify", nil, client)
	if err != nil {
		t.Fatalf("WSS: %v", err)
	}
	c.CloseNow()
}

func TestListenAddr(t *testing.T) {
	for _, tc := range []struct {
		addr, vnc string
		pw        bool
		want      string
	}{
		{":6080", "", true, ":6080"},
		{":6080", "", false, "127.0.0.1:6080"},
		{"0.0.0.0:6080", "", false, "127.0.0.1:6080"},
		{"[::]:6080", "", false, "127.0.0.1:6080"},
		{"10.1.2.3:6080", "", false, "127.0.0.1:6080"},
		{"localhost:6080", "", false, "127.0.0.1:6080"},
		{"[::1]:6080", "", false, "[::1]:6080"},
		{"10.1.2.3:6080", "", true, "10.1.2.3:6080"},
		// XINIT_VNC_LISTEN narrows a view address without a host.
		{":6080", "127.0.0.1", true, "127.0.0.1:6080"},
		{":6080", "localhost", true, "127.0.0.1:6080"},
		{":6080", "10.1.2.3", true, "10.1.2.3:6080"},
		{":6080", "::1", true, "[::1]:6080"},
		{":6080", "0.0.0.0", true, ":6080"},
		{":6080", "::", true, ":6080"},
		{":6080", "10.1.2.3", false, "127.0.0.1:6080"},
		// An address with a host is the user's explicit choice.
		{"10.9.9.9:6080", "127.0.0.1", true, "10.9.9.9:6080"},
	} {
		if got, err := ListenAddr(tc.addr, tc.vnc, tc.pw); err != nil || got != tc.want {
			t.Errorf("ListenAddr(%q, %q, %v) = %q, %v; want %q", tc.addr, tc.vnc, tc.pw, got, err, tc.want)
		}
	}
}

func selfSigned(t *testing.T, certPath, keyPath string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	must(t, err)
	kb, err := x509.MarshalECPrivateKey(k)
	must(t, err)
	must(t, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	must(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
}
