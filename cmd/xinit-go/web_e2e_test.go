package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

// These tests open the browser view in real headless Chromium, driven through
// the DevTools protocol, against xinit-go as PID 1 with Xvfb, x11vnc and glxgears.
// They read the canvas's pixels (a headless screenshot of a canvas can come back
// blank) and save one picture of the page per run under testutil.Artifacts.

// webSession starts a session with the browser view on a free port.
func webSession(t *testing.T, env []string) (*xsession, string) {
	t.Helper()
	testutil.Need(t, "chromium")
	if _, err := os.Stat("/usr/share/novnc/core/rfb.js"); err != nil {
		testutil.Need(t, "novnc") // a loud skip, or a failure in CI
	}
	port := testutil.FreePort(t)
	// These tests are noVNC's: / stays its page without the smooth view.
	s := startX(t, "xvfb", append([]string{"XINIT_WEB_ADDR=:" + strconv.Itoa(port), "XINIT_VIEW=off"}, env...), []string{"--", "glxgears"})
	s.waitReady() // readyz includes the browser view
	return s, fmt.Sprintf("http://127.0.0.1:%d/", port)
}

// testdata is the absolute path of a file in config's testdata.
func testdata(name string) string {
	p, _ := filepath.Abs(filepath.Join("..", "..", "config", "testdata", name))
	return p
}

// browser starts headless Chromium with a fresh profile, and extra options;
// the context ends it.
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("chromium"),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	}
	opts = append(opts, extra...)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancel2)
	// Start the browser now, so a missing or broken Chromium fails here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// pagePixels is what canvasJS finds in noVNC's canvas.
type pagePixels struct {
	W, H               int
	Red, Green, Blue   int
	State, Status, PNG string
	Connects           int
}

// canvasJS counts the gears' colours in noVNC's canvas: glxgears draws a red, a
// green and a blue gear, shaded, on black.
const canvasJS = `(() => {
  const out = {w: 0, h: 0, red: 0, green: 0, blue: 0, state: document.body.dataset.state,
    status: document.getElementById('status').textContent, connects: window.xinitConnects || 0, png: ''};
  const c = document.querySelector('#screen canvas');
  if (!c || !c.width || !c.height) return out;
  out.w = c.width; out.h = c.height;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 0; i < d.length; i += 4) {
    const r = d[i], g = d[i+1], b = d[i+2];
    if (r > 100 && r > 2*g && r > 2*b) out.red++;
    else if (g > 100 && g > 2*r && g > 2*b) out.green++;
    else if (b > 100 && b > 1.5*r && b > 1.5*g) out.blue++;
  }
  out.png = c.toDataURL('image/png');
  return out;
})()`

func readCanvas(t *testing.T, ctx context.Context) pagePixels {
	t.Helper()
	p, err := chromedp.Run(ctx, chromedp.Evaluate[pagePixels](canvasJS))
	if err != nil {
		t.Fatalf("read the canvas: %v", err)
	}
	return p
}

func (p pagePixels) gears() bool { return p.Red > 200 && p.Green > 200 && p.Blue > 200 }

// waitState waits for the page's state (data-state on <body>).
func waitState(t *testing.T, ctx context.Context, want string, timeout time.Duration) pagePixels {
	t.Helper()
	var last pagePixels
	testutil.Eventually(t, timeout, "the page to be "+want, func() bool {
		last = readCanvas(t, ctx)
		return last.State == want
	})
	return last
}

// waitGears waits until the canvas holds the three gears' colours.
func waitGears(t *testing.T, ctx context.Context, what string) pagePixels {
	t.Helper()
	var last pagePixels
	deadline := time.Now().Add(30 * time.Second)
	for {
		last = readCanvas(t, ctx)
		if last.gears() {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the canvas never held the gears: %dx%d, red %d, green %d, blue %d pixels; page %q: %s",
				what, last.W, last.H, last.Red, last.Green, last.Blue, last.State, last.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// savePictures writes the canvas's pixels and a screenshot of the page.
func savePictures(t *testing.T, ctx context.Context, p pagePixels, name string) {
	t.Helper()
	dir := testutil.Artifacts(t)
	if b64, ok := strings.CutPrefix(p.PNG, "data:image/png;base64,"); ok {
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Errorf("canvas PNG: %v", err)
		} else if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("canvas PNG does not decode: %v", err)
		} else if err := os.WriteFile(filepath.Join(dir, name+"-canvas.png"), b, 0o644); err != nil {
			t.Error(err)
		}
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+"-page.png"), shot, 0o644); err != nil {
		t.Error(err)
	}
}

// login types the password into the page's form.
func login(t *testing.T, ctx context.Context, url, pw string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	waitState(t, ctx, "password", 30*time.Second)
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("#connect")),
	); err != nil {
		t.Fatalf("type the password: %v", err)
	}
}

func (s *xsession) vncPID() int {
	for _, pid := range testutil.ProcsWithArg(strconv.Itoa(s.vncPort)) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.HasPrefix(string(b), "x11vnc\x00") {
			return pid
		}
	}
	return 0
}

func metricValue(metrics, name string) float64 {
	for _, line := range strings.Split(metrics, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return -1
}

// TestWebViewInChromium: the page connects with the password and shows the
// gears; a killed x11vnc comes back and the page reconnects by itself; /metrics
// counts the viewers and bytes; a wrong password gets the page's failure and no
// pixels.
func TestWebViewInChromium(t *testing.T) {
	s, url := webSession(t, []string{"VNC_PASSWORD=" + password})
	ctx := browser(t)

	login(t, ctx, url, password)
	waitState(t, ctx, "connected", 30*time.Second)
	p := waitGears(t, ctx, "after the connect event")
	t.Logf("canvas %dx%d: red %d, green %d, blue %d pixels", p.W, p.H, p.Red, p.Green, p.Blue)
	if p.W != 1024 || p.H != 768 {
		t.Errorf("canvas %dx%d, want the screen's 1024x768", p.W, p.H)
	}
	savePictures(t, ctx, p, "connected")

	_, m := s.get("/metrics")
	if v := metricValue(m, "xinit_web_connections_active"); v != 1 {
		t.Errorf("xinit_web_connections_active = %v, want 1", v)
	}
	if v := metricValue(m, `xinit_web_bytes_total{direction="to_browser"}`); v < 10000 {
		t.Errorf("xinit_web_bytes_total to the browser = %v, want the screen's worth", v)
	}
	if v := metricValue(m, `xinit_web_bytes_total{direction="from_browser"}`); v <= 0 {
		t.Errorf("xinit_web_bytes_total from the browser = %v", v)
	}

	// Kill x11vnc: the supervisor restarts it, and the page reconnects with the
	// password it kept in memory.
	vnc := s.vncPID()
	if vnc == 0 {
		t.Fatal("no x11vnc found")
	}
	if err := syscall.Kill(vnc, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the page to notice", func() bool {
		return readCanvas(t, ctx).State != "connected"
	})
	testutil.Eventually(t, 60*time.Second, "the page to reconnect", func() bool {
		p = readCanvas(t, ctx)
		return p.State == "connected" && p.Connects == 2
	})
	if s.vncPID() == vnc {
		t.Error("x11vnc was not restarted")
	}
	waitGears(t, ctx, "after the reconnect")
	_, m = s.get("/metrics")
	if v := metricValue(m, "xinit_web_connections_total"); v < 2 {
		t.Errorf("xinit_web_connections_total = %v, want at least 2", v)
	}

	// A wrong password, in a second tab: the page's failure, and no pixels.
	tab, cancel := chromedp.NewContext(ctx)
	defer cancel()
	login(t, tab, url, "wrongpw1")
	p = waitState(t, tab, "failed", 30*time.Second)
	if !strings.Contains(p.Status, "failed") {
		t.Errorf("status after a wrong password: %q", p.Status)
	}
	if p.Red+p.Green+p.Blue != 0 {
		t.Errorf("the canvas shows %d coloured pixels after a wrong password", p.Red+p.Green+p.Blue)
	}
	// The first tab is still connected.
	if st := readCanvas(t, ctx).State; st != "connected" {
		t.Errorf("the first viewer is %q after another's failure", st)
	}

	s.p.Signal(syscall.SIGTERM)
	if c := s.p.Wait(30 * time.Second); c != 143 && c != 0 {
		t.Errorf("exit %d", c)
	}
	if log := s.p.Stderr.String(); strings.Contains(log, password) {
		t.Error("the log shows the password")
	}
}

// TestWebViewWithoutPassword: without a VNC password the view listens on
// 127.0.0.1 only, even when asked for every interface, and the page connects
// without asking.
func TestWebViewWithoutPassword(t *testing.T) {
	s, url := webSession(t, nil)
	_, port, _ := net.SplitHostPort(strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/"))
	listening := listeners(t, port)
	if len(listening) == 0 {
		t.Fatalf("nothing listens on port %s", port)
	}
	for _, a := range listening {
		if a != "127.0.0.1" {
			t.Errorf("the browser view listens on %s:%s without a password; want 127.0.0.1 only", a, port)
		}
	}
	if ip := hostIP(); ip != "" {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, port), time.Second); err == nil {
			c.Close()
			t.Errorf("the browser view answers on %s:%s without a password", ip, port)
		}
	}
	if !strings.Contains(s.p.Stderr.String(), "browser view listens on 127.0.0.1:"+port+" only") {
		t.Error("the log does not say the browser view is on localhost only")
	}

	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, "connected", 30*time.Second)
	p := waitGears(t, ctx, "without a password")
	savePictures(t, ctx, p, "no-password")

	s.p.Signal(syscall.SIGTERM)
	if c := s.p.Wait(30 * time.Second); c != 143 && c != 0 {
		t.Errorf("exit %d", c)
	}
}

// listeners returns the local addresses of the TCP sockets listening on port,
// from /proc/net/tcp and tcp6.
func listeners(t *testing.T, port string) []string {
	t.Helper()
	p, _ := strconv.Atoi(port)
	want := fmt.Sprintf(":%04X", p)
	var out []string
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 4 || fs[3] != "0A" || !strings.HasSuffix(fs[1], want) { // 0A: LISTEN
				continue
			}
			hexIP := strings.TrimSuffix(fs[1], want)
			raw, err := parseHexIP(hexIP)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, raw.String())
		}
	}
	return out
}

// parseHexIP reads /proc/net/tcp's address: 32-bit words in host (little-endian) order.
func parseHexIP(h string) (net.IP, error) {
	var ip net.IP
	for i := 0; i+8 <= len(h); i += 8 {
		v, err := strconv.ParseUint(h[i:i+8], 16, 32)
		if err != nil {
			return nil, err
		}
		ip = append(ip, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	if len(ip) == 16 && ip.To4() != nil {
		return ip.To4(), nil
	}
	return ip, nil
}

// hostIP is a non-loopback address of this host, "" when it has none.
func hostIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// TestWebBadSettings: a bad browser-view setting is exit 78 with nothing started,
// and the message names the variable.
func TestWebBadSettings(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XINIT_WEB_ROOT": "/nonexistent/novnc"}, "XINIT_WEB_ROOT"},
		{map[string]string{"XINIT_WEB_TLS_KEY": "/nonexistent/tls.key"}, "XINIT_WEB_TLS_CERT"},
		{map[string]string{"XINIT_WEB_ADDR": busy.Addr().String(), "XINIT_WEB_ROOT": "", "VNC_PASSWORD": password}, "XINIT_WEB_ADDR"},
		// Keys that load but cannot sign a TLS handshake.
		{map[string]string{"XINIT_WEB_TLS_CERT": testdata("rsa512.crt"), "XINIT_WEB_TLS_KEY": testdata("rsa512.key")}, "XINIT_WEB_TLS_KEY=\"" + testdata("rsa512.key") + "\" loads but cannot sign"},
		{map[string]string{"XINIT_WEB_TLS_CERT": testdata("p224.crt"), "XINIT_WEB_TLS_KEY": testdata("p224.key")}, "XINIT_WEB_TLS_KEY=\"" + testdata("p224.key") + "\" loads but cannot sign"},
	} {
		env := map[string]string{"XINIT_BACKEND": "xvfb", "XINIT_HEALTH_ADDR": "off", "XINIT_RUNTIME_DIR": filepath.Join(t.TempDir(), "run"),
			"XINIT_WEB_ADDR": "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))}
		for k, v := range tc.env {
			env[k] = v
		}
		if env["XINIT_WEB_ROOT"] == "" {
			if _, err := os.Stat("/usr/share/novnc/core/rfb.js"); err != nil {
				testutil.Need(t, "novnc")
			}
		}
		var stderr strings.Builder
		sys := host()
		sys.environ, sys.notify = nil, nil
		for k, v := range env {
			sys.environ = append(sys.environ, k+"="+v)
		}
		code := run(t.Context(), []string{"--", "true"}, sys, &stderr, &stderr)
		if code != exitConfig || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, want 78 naming %s:\n%s", tc.env, code, tc.want, stderr.String())
		}
		if strings.Contains(stderr.String(), `"msg":"started"`) {
			t.Errorf("%v: something was started:\n%s", tc.env, stderr.String())
		}
	}
}
