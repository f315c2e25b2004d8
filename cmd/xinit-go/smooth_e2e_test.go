package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

// These tests open the smooth view (H.264 over the WebSocket, WebCodecs in the
// page, XTEST for input) in real headless Chromium against xinit-go as PID 1
// with Xvfb and glxgears. They read the canvas's pixels.

// smoothSession starts a session with the smooth view on a free port.
func smoothSession(t *testing.T, env []string) (*xsession, string) {
	t.Helper()
	testutil.Need(t, "chromium", "ffmpeg")
	port := testutil.FreePort(t)
	s := startX(t, "xvfb", append([]string{"XINIT_WEB_ADDR=:" + strconv.Itoa(port), "XINIT_VIEW_FPS=30"}, env...), []string{"--", "glxgears"})
	s.waitReady()
	return s, fmt.Sprintf("http://127.0.0.1:%d/", port)
}

// viewStats is what the smooth page counts (window.xinitView).
type viewStats struct {
	State                             string
	Codec                             string
	Received, Decoded, Drawn, Skipped int
	Width, Height                     int
	FirstPictureMs                    float64
}

func readView(t *testing.T, ctx context.Context) viewStats {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[viewStats](`window.xinitView || {}`))
	if err != nil {
		t.Fatalf("read the page's counters: %v", err)
	}
	return v
}

// motion is how the canvas changed over a while: pictures drawn, and how
// often its pixels differed from the previous sample.
type motion struct {
	Changes, Drawn, Samples int
	Secs                    float64
}

const motionJS = `(async () => {
  const c = document.querySelector('#screen canvas');
  const g = c.getContext('2d');
  const d0 = window.xinitView.drawn, t0 = performance.now();
  let last = null, changes = 0, samples = 0;
  while (performance.now() - t0 < 3000) {
    const d = g.getImageData(0, 0, Math.min(c.width, 320), Math.min(c.height, 320)).data;
    let h = 0;
    for (let i = 0; i < d.length; i += 4) h = (Math.imul(h, 31) + d[i] + 7 * d[i+1] + 13 * d[i+2]) | 0;
    if (last !== null && h !== last) changes++;
    last = h;
    samples++;
    await new Promise((r) => setTimeout(r, 15));
  }
  return {changes, drawn: window.xinitView.drawn - d0, samples, secs: (performance.now() - t0) / 1000};
})()`

// gearsAt is where the middle of glxgears' window (300x300 at the screen's
// top left) is on the page: the canvas is scaled to fit, letterboxed.
const gearsAt = `(() => {
  const c = document.querySelector('#screen canvas'), r = c.getBoundingClientRect();
  const s = Math.min(r.width / c.width, r.height / c.height);
  return [r.left + (r.width - c.width * s) / 2 + 150 * s, r.top + (r.height - c.height * s) / 2 + 150 * s];
})()`

// ffmpegRuns reports whether the session's smooth view has an ffmpeg.
func (s *xsession) ffmpegRuns() bool {
	return len(testutil.ProcsWithArg(":"+strconv.Itoa(s.display)+".0+0,0")) > 0
}

// TestSmoothViewInChromium: with the VNC password the page logs in and shows
// the gears, moving many times a second; ffmpeg runs only while someone
// watches; a wrong password gets no picture at all; a click on the gears and
// Escape typed into the page reach glxgears, which quits, and the session
// ends with its exit code 0.
func TestSmoothViewInChromium(t *testing.T) {
	s, url := smoothSession(t, []string{"VNC_PASSWORD=" + password})
	if s.ffmpegRuns() {
		t.Error("ffmpeg runs with no viewer")
	}
	ctx := browser(t)
	login(t, ctx, url, password)
	waitState(t, ctx, "connected", 30*time.Second)
	p := waitGears(t, ctx, "after the login")
	if p.W != 1024 || p.H != 768 {
		t.Errorf("canvas %dx%d, want the screen's 1024x768", p.W, p.H)
	}
	v := readView(t, ctx)
	t.Logf("codec %s; canvas %dx%d: red %d, green %d, blue %d pixels", v.Codec, p.W, p.H, p.Red, p.Green, p.Blue)
	if !strings.HasPrefix(v.Codec, "avc1.42") {
		t.Errorf("codec %q, want constrained baseline H.264", v.Codec)
	}
	savePictures(t, ctx, p, "smooth")

	m, err := chromedp.Run(ctx, chromedp.Evaluate[motion](motionJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("in %.1f s: %d pictures drawn, the canvas changed in %d of %d samples", m.Secs, m.Drawn, m.Changes, m.Samples)
	if perSec := float64(m.Changes) / m.Secs; perSec < 5 {
		t.Errorf("the canvas changed %.1f times a second, want many (at least 5)", perSec)
	}
	if !s.ffmpegRuns() {
		t.Error("no ffmpeg while a viewer watches")
	}
	_, metrics := s.get("/metrics")
	for name, min := range map[string]float64{
		"xinit_view_viewers":                           1,
		`xinit_view_frames_total{stage="encoded"}`:     10,
		`xinit_view_frames_total{stage="sent"}`:        10,
		`xinit_view_frames_total{stage="captured"}`:    1,
		`xinit_view_bytes_total{stage="sent"}`:         10000,
		`xinit_view_logins_total{result="ok"}`:         1,
		`xinit_view_encoder_starts_total`:              1,
		`xinit_view_latency_reports_total`:             1,
		`xinit_view_latency_seconds{quantile="0.5"}`:   0,
		`xinit_view_encoder_cpu_seconds_total`:         0.01,
		`xinit_view_input_events_total{kind="motion"}`: 0,
	} {
		if v := metricValue(metrics, name); v < min {
			t.Errorf("%s = %v, want at least %v", name, v, min)
		}
	}

	// A wrong password, in a second tab: refused, and not one picture.
	tab, cancel := chromedp.NewContext(ctx)
	login(t, tab, url, "wrongpw1")
	p = waitState(t, tab, "failed", 30*time.Second)
	if !strings.Contains(p.Status, "wrong password") {
		t.Errorf("status after a wrong password: %q", p.Status)
	}
	if w := readView(t, tab); w.Received != 0 || w.Drawn != 0 || p.Red+p.Green+p.Blue != 0 {
		t.Errorf("after a wrong password: %d pictures received, %d drawn, %d coloured pixels", w.Received, w.Drawn, p.Red+p.Green+p.Blue)
	}
	cancel()
	if st := readCanvas(t, ctx).State; st != "connected" {
		t.Errorf("the first viewer is %q after another's failure", st)
	}
	_, metrics = s.get("/metrics")
	if v := metricValue(metrics, `xinit_view_logins_total{result="failed"}`); v != 1 {
		t.Errorf("failed logins %v, want 1", v)
	}

	// A click on the gears puts the pointer on glxgears' window (no window
	// manager: the keyboard follows the pointer), and Escape quits glxgears.
	at, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](gearsAt))
	if err != nil || len(at) != 2 {
		t.Fatalf("where the gears are: %v %v", at, err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(at[0], at[1]), chromedp.KeyEvent(kb.Escape)); err != nil {
		t.Fatal(err)
	}
	if code := s.p.Wait(30 * time.Second); code != 0 {
		t.Errorf("exit %d after Escape, want glxgears' 0\n%s", code, s.p.Stderr.String())
	}
	log := s.p.Stderr.String()
	if strings.Contains(log, password) {
		t.Error("the log shows the password")
	}
	if !strings.Contains(log, "smooth view encoder stopped") {
		t.Error("the log does not say the encoder stopped")
	}
}

// TestSmoothViewWithoutPassword: without a password the view listens on
// 127.0.0.1 only, even when asked for every interface, and the page shows the
// gears without asking; ffmpeg stops when the last viewer leaves; a browser
// without WebCodecs' VideoDecoder gets noVNC.
func TestSmoothViewWithoutPassword(t *testing.T) {
	s, url := smoothSession(t, nil)
	_, port, _ := net.SplitHostPort(strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/"))
	for _, a := range listeners(t, port) {
		if a != "127.0.0.1" {
			t.Errorf("the view listens on %s:%s without a password; want 127.0.0.1 only", a, port)
		}
	}
	if ip := hostIP(); ip != "" {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, port), time.Second); err == nil {
			c.Close()
			t.Errorf("the view answers on %s:%s without a password", ip, port)
		}
	}
	ctx := browser(t)
	tab, cancel := chromedp.NewContext(ctx)
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	waitState(t, tab, "connected", 30*time.Second)
	p := waitGears(t, tab, "without a password")
	savePictures(t, tab, p, "smooth-no-password")
	if !s.ffmpegRuns() {
		t.Error("no ffmpeg while a viewer watches")
	}
	// A second viewer joins a running stream: it starts at the latest keyframe
	// and has a picture at once (the goal is half a second; the bound leaves
	// room for a busy machine).
	tab2, cancel2 := chromedp.NewContext(ctx)
	if err := chromedp.Do(tab2, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	waitGears(t, tab2, "a second viewer")
	first := readView(t, tab2).FirstPictureMs
	t.Logf("a second viewer's first picture %.0f ms after the login", first)
	if first <= 0 || first > 2000 {
		t.Errorf("a second viewer's first picture came %.0f ms after the login, want well under 2 s", first)
	}
	cancel2()
	cancel() // the tab closes: the last viewer leaves
	testutil.Eventually(t, 20*time.Second, "ffmpeg to stop after the last viewer left", func() bool { return !s.ffmpegRuns() })
	_, metrics := s.get("/metrics")
	if v := metricValue(metrics, "xinit_view_viewers"); v != 0 {
		t.Errorf("xinit_view_viewers = %v after the tab closed", v)
	}

	// A browser without WebCodecs' decoder gets noVNC on /novnc, and no ffmpeg runs.
	if _, err := os.Stat("/usr/share/novnc/core/rfb.js"); err != nil {
		testutil.Need(t, "novnc")
	}
	old, cancel := chromedp.NewContext(ctx)
	defer cancel()
	noDecoder := func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: "delete window.VideoDecoder;"})
		return chromedp.Void{}, err
	}
	if err := chromedp.Do(old, noDecoder, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	waitState(t, old, "connected", 30*time.Second)
	waitGears(t, old, "noVNC, the fallback")
	loc, err := chromedp.Run(old, chromedp.Evaluate[string]("location.pathname"))
	if err != nil || loc != "/novnc" {
		t.Errorf("a browser without VideoDecoder is at %q (%v), want /novnc", loc, err)
	}
	if s.ffmpegRuns() {
		t.Error("ffmpeg runs for a viewer on noVNC")
	}

	s.p.Signal(syscall.SIGTERM)
	if c := s.p.Wait(30 * time.Second); c != 143 && c != 0 {
		t.Errorf("exit %d", c)
	}
}
