package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/xinit-go/xinit-go/internal/procfs"
)

// smoothBegin and smoothEnd mark the section that -smooth-out rewrites.
const (
	smoothBegin = "<!-- smooth:begin -->"
	smoothEnd   = "<!-- smooth:end -->"
)

// smoothResult is one view's figures in one run.
type smoothResult struct {
	pictures  float64 // different pictures a second on the page's canvas
	drawn     float64 // pictures a second the smooth page decoded and drew
	latencyMs float64 // the smooth page's median latency
	ffmpeg    float64 // the encoder's CPU, % of a core
	xinit     float64 // xinit-go's CPU, % of a core
}

// pageMeasure samples the canvas's centre at every animation frame for ms
// milliseconds and counts how often it differs from the sample before; on the
// smooth page it also counts the pictures drawn and their latencies.
const pageMeasure = `(async (ms) => {
  const c = document.querySelector('#screen canvas');
  const g = c.getContext('2d');
  const v = window.xinitView;
  const w = Math.min(256, c.width), h = Math.min(256, c.height);
  const x = Math.floor((c.width - w) / 2), y = Math.floor((c.height - h) / 2);
  const d0 = v ? v.drawn : 0, t0 = performance.now();
  let last = null, changes = 0, lastDrawn = d0;
  const lat = [];
  while (performance.now() - t0 < ms) {
    await new Promise((r) => requestAnimationFrame(r));
    const d = g.getImageData(x, y, w, h).data;
    let s = 0;
    for (let i = 0; i < d.length; i += 4) s = (Math.imul(s, 31) + d[i] + 7 * d[i+1] + 13 * d[i+2]) | 0;
    if (last !== null && s !== last) changes++;
    last = s;
    if (v && v.drawn !== lastDrawn) { lastDrawn = v.drawn; lat.push(v.latencyMs); }
  }
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return {pictures: changes / secs, drawn: v ? (v.drawn - d0) / secs : 0, latency: lat.length ? lat[Math.floor(lat.length / 2)] : 0};
})`

type pageFigures struct {
	Pictures, Drawn, Latency float64
}

// smooth measures what real headless Chromium draws through the smooth view
// and through noVNC, one after the other on the same session: xinit-go as PID 1
// with Xvfb, x11vnc and the app, at each resolution.
func (b *bench) smooth(resolutions []string, window time.Duration, fps int, out string) error {
	var md strings.Builder
	p := func(format string, a ...any) {
		fmt.Fprintf(b.out, format, a...)
		fmt.Fprintf(&md, format, a...)
	}
	app := strings.Join(b.viewerApp, " ")
	if b.appNice != 0 {
		app = fmt.Sprintf("nice -n %d %s", b.appNice, app)
	}
	nice := ""
	if b.appNice != 0 {
		nice = fmt.Sprintf(" -viewer-app-nice %d", b.appNice)
	}
	p("## Smooth view and noVNC in Chromium\n\nReproduce (as root): `make build && go run ./cmd/xinit-bench -smooth -runs %d -smooth-window %s -smooth-fps %d -viewer-res %s%s -smooth-out docs/benchmarks.md`.\n\n",
		b.runs, window, fps, strings.Join(resolutions, ","), nice)
	p("Date: %s. Machine: %d cores (%s), Linux %s; Xvfb %s, ffmpeg %s, %s; GL renders with %s.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), cpuModel(), kernel(), pkgVersion("xvfb"), pkgVersion("ffmpeg"),
		"chromium "+pkgVersion("chromium"), glRenderer())
	p("xinit-go runs as PID 1 of a PID namespace with Xvfb, x11vnc and `%s`; headless Chromium (software, `--disable-gpu`) opens `/` (the smooth view, `XINIT_VIEW_FPS=%d`) and then `/novnc` (noVNC through the bridge), one at a time, on the same session. After a 2 s warm-up the page samples a 256x256 square at the canvas's centre at every animation frame for %s and counts the samples that differ from the one before: *pictures/s* (at most the page's animation rate). *drawn/s* and *latency* are the smooth page's own counts: pictures decoded and drawn, and the median time from xinit-go having a picture to its draw (the same host's clock). CPU in %% of one core over the window. Median of %d runs.\n\n",
		app, fps, window, b.runs)
	p("| resolution | view | pictures/s | drawn/s | latency | ffmpeg CPU | xinit-go CPU |\n|---|---|---|---|---|---|---|\n")
	for _, res := range resolutions {
		var all [2][]smoothResult
		for r := 0; r < b.runs; r++ {
			rs, err := b.smoothRun(res, window, fps)
			if err != nil {
				return fmt.Errorf("%s: %w", res, err)
			}
			all[0], all[1] = append(all[0], rs[0]), append(all[1], rs[1])
		}
		for i, name := range []string{"smooth view", "noVNC"} {
			var pics, drawn, lat, ff, xi []float64
			for _, r := range all[i] {
				pics, drawn, lat, ff, xi = append(pics, r.pictures), append(drawn, r.drawn), append(lat, r.latencyMs), append(ff, r.ffmpeg), append(xi, r.xinit)
			}
			if i == 0 {
				p("| %s | %s | %.1f | %.1f | %.0f ms | %.0f%% | %.0f%% |\n", res, name, median(pics), median(drawn), median(lat), median(ff), median(xi))
			} else {
				p("| %s | %s | %.1f | — | — | — | %.0f%% |\n", res, name, median(pics), median(xi))
			}
		}
	}
	p("\n")
	if out == "" {
		return nil
	}
	return rewriteSection(out, smoothBegin, smoothEnd, md.String())
}

// smoothRun runs one session and measures both views in it.
func (b *bench) smoothRun(res string, window time.Duration, fps int) ([2]smoothResult, error) {
	var rs [2]smoothResult
	dir, err := os.MkdirTemp("", "xinit-bench-smooth-")
	if err != nil {
		return rs, err
	}
	defer os.RemoveAll(dir)
	d := b.nextDisplay()
	defer removeDisplay(d)
	webPort, healthPort := freePort(), freePort()
	env := []string{"XINIT_BACKEND=xvfb", "XINIT_DISPLAY=:" + strconv.Itoa(d), "XINIT_VNC_PORT=" + strconv.Itoa(freePort()),
		"XINIT_HEALTH_ADDR=127.0.0.1:" + strconv.Itoa(healthPort), "XINIT_WEB_ADDR=127.0.0.1:" + strconv.Itoa(webPort),
		"XINIT_VIEW_FPS=" + strconv.Itoa(fps), "XINIT_LOG_LEVEL=error", "XINIT_RUNTIME_DIR=" + filepath.Join(dir, "run"), "SCREEN_RESOLUTION=" + res}
	argv := []string{b.xinit, "--"}
	if b.appNice != 0 {
		argv = append(argv, "nice", "-n", strconv.Itoa(b.appNice))
	}
	cmd, err := b.pid1(append(argv, b.viewerApp...), env, io.Discard)
	if err != nil {
		return rs, err
	}
	defer stopInit(cmd)
	init := childOf(cmd.Process.Pid)
	if init == 0 {
		return rs, fmt.Errorf("xinit-go did not start")
	}
	if err := waitHTTP(fmt.Sprintf("http://127.0.0.1:%d/readyz", healthPort), 60*time.Second); err != nil {
		return rs, fmt.Errorf("the session was never ready: %w", err)
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath("chromium"), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(filepath.Join(dir, "chromium")), chromedp.WindowSize(1920, 1200))
	defer cancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx); err != nil {
		return rs, fmt.Errorf("start chromium: %w", err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d/", webPort)
	for i, path := range []string{"", "novnc"} {
		r, err := b.measurePage(bctx, base+path, init, window)
		if err != nil {
			return rs, fmt.Errorf("%s: %w", base+path, err)
		}
		rs[i] = r
	}
	return rs, nil
}

// measurePage opens url in a new tab, waits for the picture, and measures.
func (b *bench) measurePage(bctx context.Context, url string, init int, window time.Duration) (smoothResult, error) {
	var r smoothResult
	tab, cancel := chromedp.NewContext(bctx)
	defer cancel()
	ctx, cancel2 := context.WithTimeout(tab, window+90*time.Second)
	defer cancel2()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return r, err
	}
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.body.dataset.state === 'connected' && !!document.querySelector('#screen canvas') && document.querySelector('#screen canvas').width > 0`))
		if err != nil {
			return r, fmt.Errorf("never connected: %w", err)
		}
		if ok {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	ff := 0
	pids, _ := procfs.Default.PIDs()
	for _, pid := range pids {
		if st, err := procfs.Default.Stat(pid); err == nil && st.Comm == "ffmpeg" && st.PPID == init {
			ff = pid
		}
	}
	_, x0, _ := procStats(init)
	var f0 int64
	if ff != 0 {
		_, f0, _ = procStats(ff)
	}
	start := time.Now()
	f, err := chromedp.Run(ctx, chromedp.Evaluate[pageFigures](fmt.Sprintf("%s(%d)", pageMeasure, window.Milliseconds()), chromedp.EvalAwaitPromise))
	if err != nil {
		return r, err
	}
	took := time.Since(start).Seconds()
	_, x1, _ := procStats(init)
	r.xinit = float64(x1-x0) / ticksPerSecond / took * 100
	if ff != 0 {
		_, f1, _ := procStats(ff)
		r.ffmpeg = float64(f1-f0) / ticksPerSecond / took * 100
	}
	r.pictures, r.drawn, r.latencyMs = f.Pictures, f.Drawn, f.Latency
	return r, nil
}

func waitHTTP(url string, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
