package main

import (
	"context"
	"crypto/des"
	"fmt"
	"io"
	"math/bits"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

// These tests attack the browser view and VNC over the network, with the real
// binary as PID 1, real x11vnc and Chromium.

// TestVNCListenOnIPv4StaysThere: XINIT_VNC_LISTEN=127.0.0.1 keeps x11vnc off
// IPv6's [::] and keeps the browser view (XINIT_WEB_ADDR without a host) on
// 127.0.0.1 too.
func TestVNCListenOnIPv4StaysThere(t *testing.T) {
	s, url := webSession(t, []string{"VNC_PASSWORD=xK9#mQ2v", "XINIT_VNC_LISTEN=127.0.0.1"})
	webPort := strings.TrimSuffix(url[strings.LastIndex(url, ":")+1:], "/")
	// And no other port: LibVNCServer's own [::]:5900 was one.
	vncOnlyOnItsPort(t, s)
	for what, port := range map[string]string{"VNC": strconv.Itoa(s.vncPort), "the browser view": webPort} {
		got := listeners(t, port)
		if len(got) == 0 {
			t.Errorf("nothing listens on %s's port %s", what, port)
		}
		for _, a := range got {
			if a != "127.0.0.1" {
				t.Errorf("%s listens on %s port %s with XINIT_VNC_LISTEN=127.0.0.1; want 127.0.0.1 only", what, a, port)
			}
		}
	}
	s.p.Signal(syscall.SIGTERM)
	s.p.Wait(30 * time.Second)
}

// TestDNSRebindingInChromium: the default session (no password, view on
// localhost). A page at a name that the browser resolves to 127.0.0.1 (an
// attacker's DNS answer) gets 421 and no viewer; a name the user listed in
// XINIT_WEB_HOSTS gets the view.
func TestDNSRebindingInChromium(t *testing.T) {
	s, url := webSession(t, []string{"XINIT_WEB_HOSTS=view.example.test"})
	port := strings.TrimSuffix(url[strings.LastIndex(url, ":")+1:], "/")
	ctx := browser(t, chromedp.Flag("host-resolver-rules", "MAP rebound.attacker.test 127.0.0.1, MAP view.example.test 127.0.0.1"))

	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("http://rebound.attacker.test:%s/", port))); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "not one of this server's names") {
		t.Errorf("the rebound page shows %q", text)
	}
	// Give a page that did load the time to open the bridge.
	time.Sleep(2 * time.Second)
	if strings.Contains(s.p.Stderr.String(), "browser viewer connected") {
		t.Fatal("a page at a rebound name got a viewer")
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("http://view.example.test:%s/", port))); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, "connected", 30*time.Second)
	testutil.Eventually(t, 5*time.Second, "the log to show the viewer", func() bool {
		return strings.Contains(s.p.Stderr.String(), "browser viewer connected")
	})
	s.p.Signal(syscall.SIGTERM)
	s.p.Wait(30 * time.Second)
}

// vncLogin opens the bridge at url and logs in to the real x11vnc with RFB 3.8
// and VNC authentication. It returns the HTTP status when the bridge refused the
// WebSocket, else whether VNC let the viewer in.
func vncLogin(ctx context.Context, url, pw string) (status int, in bool, err error) {
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"binary"}})
	if err != nil {
		if resp != nil {
			return resp.StatusCode, false, err
		}
		return 0, false, err
	}
	defer ws.CloseNow()
	c := websocket.NetConn(ctx, ws, websocket.MessageBinary)
	buf := make([]byte, 16)
	if _, err := io.ReadFull(c, buf[:12]); err != nil {
		return 101, false, err
	}
	if _, err := c.Write([]byte("RFB 003.008\n")); err != nil {
		return 101, false, err
	}
	if _, err := io.ReadFull(c, buf[:1]); err != nil || buf[0] == 0 {
		return 101, false, fmt.Errorf("no security types: %v", err)
	}
	types := make([]byte, buf[0])
	if _, err := io.ReadFull(c, types); err != nil {
		return 101, false, err
	}
	if _, err := c.Write([]byte{2}); err != nil {
		return 101, false, err
	}
	if _, err := io.ReadFull(c, buf); err != nil {
		return 101, false, err
	}
	var key [8]byte
	copy(key[:], pw)
	for i := range key {
		key[i] = bits.Reverse8(key[i])
	}
	block, _ := des.NewCipher(key[:])
	block.Encrypt(buf[:8], buf[:8])
	block.Encrypt(buf[8:], buf[8:])
	if _, err := c.Write(buf); err != nil {
		return 101, false, err
	}
	if _, err := io.ReadFull(c, buf[:4]); err != nil {
		return 101, false, err
	}
	return 101, buf[3] == 0, nil
}

// TestVNCLoginThroughTheBridge: with the real x11vnc, WebSockets that never
// answer VNC's challenge hold the viewer slots only until the login deadline,
// and wrong passwords from one address make it wait.
func TestVNCLoginThroughTheBridge(t *testing.T) {
	const pw = "xK9#mQ2v"
	s, url := webSession(t, []string{"VNC_PASSWORD=" + pw})
	ws := "ws" + strings.TrimPrefix(url, "http") + "websockify"
	ctx := testutil.Context(t, 60*time.Second)

	// Every viewer slot (16) taken by a WebSocket that reads VNC's banner and
	// says nothing more, each from its own address (one address gets at most 4
	// logins in flight: they count as wrong passwords until they end).
	start := time.Now()
	for i := range 16 {
		from := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(10+i))}
		hc := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: from}).DialContext}}
		c, _, err := websocket.Dial(ctx, ws, &websocket.DialOptions{Subprotocols: []string{"binary"}, HTTPClient: hc})
		if err != nil {
			t.Fatalf("silent viewer %d: %v", i, err)
		}
		defer c.CloseNow()
		if _, _, err := c.Read(ctx); err != nil {
			t.Fatalf("silent viewer %d: no banner: %v", i, err)
		}
	}
	if code, _, _ := vncLogin(ctx, ws, pw); code != http.StatusServiceUnavailable {
		t.Errorf("the owner while 16 silent viewers hold the slots: %d, want 503", code)
	}
	var in bool
	testutil.Eventually(t, 20*time.Second, "the owner to get in", func() bool {
		_, in, _ = vncLogin(ctx, ws, pw)
		return in
	})
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the owner got in after %v; the login deadline is 10 s", d)
	}
	// The silent viewers opened one after another: let the last one's deadline
	// pass too, so that the slots are free for what follows.
	testutil.Eventually(t, 15*time.Second, "every silent viewer to be closed for its login's deadline", func() bool {
		return strings.Count(s.p.Stderr.String(), "the VNC login did not finish in time") == 16
	})

	// Wrong passwords: 4 answered (3 free, the 4th after no wait), then 429.
	for i := range 4 {
		code, in, err := vncLogin(ctx, ws, "wrongpw!")
		if code != 101 || in {
			t.Fatalf("wrong password %d: %d, let in %v, %v", i+1, code, in, err)
		}
	}
	if code, _, err := vncLogin(ctx, ws, pw); code != http.StatusTooManyRequests {
		t.Errorf("right after 4 wrong passwords: %d, %v; want 429", code, err)
	}
	s.p.Signal(syscall.SIGTERM)
	s.p.Wait(30 * time.Second)
}

// TestVNCListensOnItsPortOnly: with a password and a port of its own, x11vnc
// listened on that port and also on [::]:5900, every IPv6 interface, unless
// told its IPv6 port (-rfbportv6). It listens on its port alone now.
func TestVNCListensOnItsPortOnly(t *testing.T) {
	s := startX(t, "xvfb", []string{"VNC_PASSWORD=xK9#mQ2v"}, helperCmd("sleep"))
	s.waitReady()
	vncOnlyOnItsPort(t, s)
	s.p.Signal(syscall.SIGTERM)
	s.p.Wait(30 * time.Second)
}

// vncOnlyOnItsPort fails the test when the session's x11vnc listens on a port
// other than XINIT_VNC_PORT.
func vncOnlyOnItsPort(t *testing.T, s *xsession) {
	t.Helper()
	var vnc int
	for _, pid := range descendants(s.p.PID()) {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "x11vnc" {
			vnc = pid
		}
	}
	if vnc == 0 {
		t.Fatal("no x11vnc")
	}
	ports := listeningPortsOf(t, vnc)
	if len(ports) == 0 {
		t.Fatal("x11vnc listens on nothing")
	}
	for _, p := range ports {
		if p != s.vncPort {
			t.Errorf("x11vnc listens on port %d besides its own %d (all: %v)", p, s.vncPort, ports)
		}
	}
}

// listeningPortsOf is the TCP ports a process listens on: its sockets' inodes
// matched in /proc/net/tcp and tcp6.
func listeningPortsOf(t *testing.T, pid int) []int {
	t.Helper()
	inodes := map[string]bool{}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var ports []int
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 || fs[3] != "0A" || !inodes[fs[9]] {
				continue
			}
			if i := strings.LastIndexByte(fs[1], ':'); i >= 0 {
				if p, err := strconv.ParseUint(fs[1][i+1:], 16, 16); err == nil {
					ports = append(ports, int(p))
				}
			}
		}
	}
	return ports
}
