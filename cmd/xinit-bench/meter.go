package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// meterBegin and meterEnd mark the section that -meter-out rewrites.
const (
	meterBegin = "<!-- meter:begin -->"
	meterEnd   = "<!-- meter:end -->"
)

// meterCost measures what counting the screen's updates costs xinit-go: a
// stand-in app fills the whole screen at a known rate (one request a frame, as
// a GL swap), xinit-go as PID 1 with Xvfb, no VNC; xinit-go's user+system time
// with the screen static, at each rate, and at each rate with the
// frozen-screen sampler on as well, next to the rate /status reports.
func (b *bench) meterCost(res string, rates []float64, window time.Duration, out string) error {
	var md strings.Builder
	p := func(format string, a ...any) {
		fmt.Fprintf(b.out, format, a...)
		fmt.Fprintf(&md, format, a...)
	}
	p("## The screen's update count\n\nReproduce (as root): `go run ./cmd/xinit-bench -meter -runs %d -meter-out docs/benchmarks.md`.\n\n", b.runs)
	p("Date: %s. Machine: %d cores (%s), Linux %s; Xvfb %s.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), cpuModel(), kernel(), pkgVersion("xvfb"))
	p("xinit-go runs as PID 1 of a PID namespace with Xvfb at %s and a stand-in app that fills the whole screen at a fixed rate (one request a frame, which the X server reports through DAMAGE as a GL swap is), no VNC. After a 3 s warm-up, over %s: the rate `/status` reports (`screen.updates_per_second`), the frames the app drew a second, and xinit-go's user+system time in %% of one core, counting alone and with the frozen-screen sampler as well (`XINIT_FREEZE_TIMEOUT=1h`, a read of the whole screen every 1 to 3 s, through MIT-SHM). Median of %d runs.\n\n", res, window, b.runs)
	p("| app's rate | app's own count | reported | xinit-go, counting | xinit-go, counting and sampling |\n|---|---|---|---|---|\n")
	for _, rate := range append([]float64{0}, rates...) {
		var own, reported, count, both []float64
		for r := 0; r < b.runs; r++ {
			m, err := b.meterRun(res, rate, false, window)
			if err != nil {
				return fmt.Errorf("%v a second: %w", rate, err)
			}
			s, err := b.meterRun(res, rate, true, window)
			if err != nil {
				return fmt.Errorf("%v a second, sampling: %w", rate, err)
			}
			own, reported, count, both = append(own, m.own), append(reported, m.reported), append(count, m.cpu), append(both, s.cpu)
		}
		name := fmt.Sprintf("%g a second", rate)
		if rate == 0 {
			name = "static"
		}
		p("| %s | %.1f | %.1f | %.2f%% | %.2f%% |\n", name, median(own), median(reported), median(count), median(both))
	}
	p("\n")
	if out == "" {
		return nil
	}
	return rewriteSection(out, meterBegin, meterEnd, md.String())
}

// meterResult is one session's figures: the app's own rate over its last
// 5 s, the rate /status reported at the end, xinit-go's CPU over the window
// in % of a core.
type meterResult struct{ own, reported, cpu float64 }

// meterRun runs one session with the app painting at rate (0: a static app).
func (b *bench) meterRun(res string, rate float64, sample bool, window time.Duration) (meterResult, error) {
	var r meterResult
	dir, err := os.MkdirTemp("", "xinit-bench-meter-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	d := b.nextDisplay()
	defer removeDisplay(d)
	health := "127.0.0.1:" + strconv.Itoa(freePort())
	env := []string{"XINIT_BACKEND=xvfb", "XINIT_DISPLAY=:" + strconv.Itoa(d), "XINIT_VNC=off", "XINIT_HEALTH_ADDR=" + health,
		"XINIT_WEB_ADDR=off", "XINIT_LOG_LEVEL=error", "XINIT_RUNTIME_DIR=" + filepath.Join(dir, "run"), "SCREEN_RESOLUTION=" + res}
	if sample {
		env = append(env, "XINIT_FREEZE_TIMEOUT=1h", "XINIT_FREEZE_ACTION=log")
	}
	app := b.helperArgv("sleep")
	if rate > 0 {
		app = b.helperArgv("paint", strconv.FormatFloat(rate, 'f', -1, 64))
	}
	out := &lockedBuffer{}
	cmd, err := b.pid1(append([]string{b.xinit, "--"}, app...), env, out)
	if err != nil {
		return r, err
	}
	defer stopInit(cmd)
	init := childOf(cmd.Process.Pid)
	if init == 0 {
		return r, fmt.Errorf("xinit-go did not start")
	}
	time.Sleep(3 * time.Second)
	_, t0, _ := procStats(init)
	start := time.Now()
	time.Sleep(window)
	took := time.Since(start).Seconds()
	_, t1, _ := procStats(init)
	r.cpu = float64(t1-t0) / ticksPerSecond / took * 100
	var doc struct {
		Screen *struct {
			Watching  bool    `json:"watching"`
			PerSecond float64 `json:"updates_per_second"`
		} `json:"screen"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+health+"/status", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || doc.Screen == nil || !doc.Screen.Watching {
		return r, fmt.Errorf("/status has no screen being watched (%v)", err)
	}
	r.reported = doc.Screen.PerSecond
	if rate > 0 {
		// The app's last count, as it printed it.
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if _, err := fmt.Sscanf(lines[len(lines)-1][strings.LastIndex(lines[len(lines)-1], "= ")+2:], "%f FPS", &r.own); err != nil {
			return r, fmt.Errorf("no count from the app in %q", out.String())
		}
	}
	return r, nil
}

// lockedBuffer is a buffer one goroutine writes while another reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
