package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/xinit-go/xinit-go/internal/procfs"
)

// recordBegin and recordEnd mark the section that -record-out rewrites, so that
// `make bench` (which writes the rest of the file) keeps it.
const (
	recordBegin = "<!-- record:begin -->"
	recordEnd   = "<!-- record:end -->"
)

// recordCost measures what the flight recorder (ffmpeg, a supervised service) and
// the frozen-screen watchdog (a goroutine of xinit-go) cost, as a fraction of one
// core, with a full-screen glxgears animating: xinit-go as PID 1 with Xvfb, no VNC,
// at each resolution, once with neither, once recording, once watching.
func (b *bench) recordCost(resolutions []string, window time.Duration, out string) error {
	var md strings.Builder
	p := func(format string, a ...any) {
		fmt.Fprintf(b.out, format, a...)
		fmt.Fprintf(&md, format, a...)
	}
	p("## Recorder and watchdog CPU\n\nReproduce (as root): `go run ./cmd/xinit-bench -record -runs %d -record-out docs/benchmarks.md`.\n\n", b.runs)
	p("Date: %s. Machine: %d cores (%s), Linux %s; Xvfb %s, ffmpeg %s; GL renders with %s.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), cpuModel(), kernel(), pkgVersion("xvfb"), pkgVersion("ffmpeg"), glRenderer())
	p("xinit-go runs as PID 1 of a PID namespace with Xvfb and `glxgears -fullscreen` (at nice 19, so that it does not starve what is measured), no VNC; after a %s warm-up, the user+system time over %s of ffmpeg (`XINIT_RECORD`, libx264 ultrafast, %s frames per second) and of xinit-go itself (the watchdog, `XINIT_FREEZE_TIMEOUT=1h`, reads the whole screen every 1 to 3 s, through MIT-SHM), in %% of one core. *xinit-go alone* is the same session with neither; it still counts the screen's updates (as every session does), at glxgears' frame rate. Median of %d runs.\n\n", 3*time.Second, window, "15", b.runs)
	p("| resolution | ffmpeg (recorder) | xinit-go with the watchdog | xinit-go alone | watchdog's own share |\n|---|---|---|---|---|\n")
	for _, res := range resolutions {
		var rec, watch, alone []float64
		for r := 0; r < b.runs; r++ {
			a, _, err := b.recordRun(res, "", window)
			if err != nil {
				return fmt.Errorf("%s, alone: %w", res, err)
			}
			_, f, err := b.recordRun(res, "record", window)
			if err != nil {
				return fmt.Errorf("%s, recording: %w", res, err)
			}
			w, _, err := b.recordRun(res, "watch", window)
			if err != nil {
				return fmt.Errorf("%s, watching: %w", res, err)
			}
			alone, rec, watch = append(alone, a), append(rec, f), append(watch, w)
		}
		share := median(watch) - median(alone)
		if share > -0.05 && share < 0.05 {
			share = 0 // no "-0.0"
		}
		p("| %s | %.0f%% | %.1f%% | %.1f%% | %.1f%% |\n", res, median(rec), median(watch), median(alone), share)
	}
	p("\n")
	if out == "" {
		return nil
	}
	return rewriteSection(out, recordBegin, recordEnd, md.String())
}

// recordRun runs one session and returns xinit-go's and ffmpeg's CPU over the
// window, in % of a core. mode is "", "record" or "watch".
func (b *bench) recordRun(res, mode string, window time.Duration) (xinitCPU, ffmpegCPU float64, err error) {
	dir, err := os.MkdirTemp("", "xinit-bench-record-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	d := b.nextDisplay()
	defer removeDisplay(d)
	env := []string{"XINIT_BACKEND=xvfb", "XINIT_DISPLAY=:" + strconv.Itoa(d), "XINIT_VNC=off", "XINIT_HEALTH_ADDR=off",
		"XINIT_WEB_ADDR=off", "XINIT_LOG_LEVEL=error", "XINIT_RUNTIME_DIR=" + filepath.Join(dir, "run"), "SCREEN_RESOLUTION=" + res}
	switch mode {
	case "record":
		env = append(env, "XINIT_RECORD="+filepath.Join(dir, "video", "run.mp4"))
		if err := os.MkdirAll(filepath.Join(dir, "video"), 0o755); err != nil {
			return 0, 0, err
		}
	case "watch":
		env = append(env, "XINIT_FREEZE_TIMEOUT=1h", "XINIT_FREEZE_ACTION=log")
	}
	cmd, err := b.pid1([]string{b.xinit, "--", "nice", "-n", "19", "glxgears", "-fullscreen"}, env, io.Discard)
	if err != nil {
		return 0, 0, err
	}
	defer stopInit(cmd)
	init := childOf(cmd.Process.Pid)
	if init == 0 {
		return 0, 0, fmt.Errorf("xinit-go did not start")
	}
	find := func(comm string) int {
		pids, _ := procfs.Default.PIDs()
		for _, pid := range pids {
			if st, err := procfs.Default.Stat(pid); err == nil && st.Comm == comm && st.PPID == init {
				return pid
			}
		}
		return 0
	}
	ff := 0
	if mode == "record" {
		for deadline := time.Now().Add(20 * time.Second); ff == 0 && time.Now().Before(deadline); {
			if ff = find("ffmpeg"); ff == 0 {
				time.Sleep(50 * time.Millisecond)
			}
		}
		if ff == 0 {
			return 0, 0, fmt.Errorf("no ffmpeg under xinit-go (pid %d) after 20 s", init)
		}
	}
	time.Sleep(3 * time.Second) // X ready, the app drawing, ffmpeg encoding
	_, x0, _ := procStats(init)
	var f0 int64
	if ff != 0 {
		_, f0, _ = procStats(ff)
	}
	start := time.Now()
	time.Sleep(window)
	took := time.Since(start).Seconds()
	_, x1, _ := procStats(init)
	xinitCPU = float64(x1-x0) / ticksPerSecond / took * 100
	if ff != 0 {
		_, f1, _ := procStats(ff)
		if f1 == 0 {
			return 0, 0, fmt.Errorf("ffmpeg (pid %d) ended during the window", ff)
		}
		ffmpegCPU = float64(f1-f0) / ticksPerSecond / took * 100
	}
	return xinitCPU, ffmpegCPU, nil
}
