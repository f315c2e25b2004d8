package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/xinit-go/xinit-go/internal/soak"
)

// soakBench runs a session (Xvfb, x11vnc, the app, the health server), kills X
// and the app thousands of times while a VNC client comes and goes and /metrics
// and /status are scraped each second, and reports whether xinit-go's memory,
// goroutines, open files and shm segments stay flat after warm-up: a table on
// stdout, the samples as CSV and a plot as PNG.
//
//	xinit-bench soak -xinit bin/xinit-go -x 1000 -app 10000 -png docs/soak.png -csv soak.csv
func soakBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xinit-bench soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	xinit := fs.String("xinit", "bin/xinit-go", "xinit-go binary")
	xKills := fs.Int("x", 1000, "X server kills")
	appKills := fs.Int("app", 10000, "app kills, spread evenly around the X kills")
	warm := fs.Duration("warm", time.Minute, "warm-up left out of the slopes")
	png := fs.String("png", "", "write the plot to this PNG file")
	csvPath := fs.String("csv", "", "write the samples to this CSV file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "xinit-bench: needs root (PID namespaces)")
		return 2
	}
	b := &bench{out: io.Discard, display: 400 + os.Getpid()%400}
	var err error
	if b.self, err = os.Executable(); err == nil {
		b.xinit, err = filepath.Abs(*xinit)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "bench-soak-")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	d, vnc, hp := b.nextDisplay(), freePort(), freePort()
	cmd, err := b.pid1(append([]string{b.xinit, "--"}, b.helperArgv("sleep")...), []string{
		"XINIT_BACKEND=xvfb", "XINIT_DISPLAY=:" + strconv.Itoa(d), "XINIT_VNC_PORT=" + strconv.Itoa(vnc),
		"XINIT_HEALTH_ADDR=127.0.0.1:" + strconv.Itoa(hp), "XINIT_LOG_LEVEL=error", "XINIT_APP_RESTART=always",
		// Constant 250 ms backoffs, and a budget no soak uses up.
		"XINIT_RESTART_BACKOFF=250ms", "XINIT_RESTART_BUDGET=1000000/1m",
		"XINIT_RUNTIME_DIR=" + filepath.Join(dir, "run"), "SCREEN_RESOLUTION=1280x1024x24"}, io.Discard)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer stopInit(cmd)
	pid := childOf(cmd.Process.Pid)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	samples, runErr := soak.Run(ctx, soak.Options{PID: pid, Health: "127.0.0.1:" + strconv.Itoa(hp), VNCPort: vnc,
		XRestarts: *xKills, AppRestarts: *appKills, Progress: func(s soak.Sample) {
			if int(s.At.Seconds())%30 == 0 {
				fmt.Fprintf(stderr, "%s: X %d, app %d, RSS %d KB, anon %d KB, heap %.0f KB, goroutines %d, fds %d, shm %d (%d of exited processes)\n",
					s.At.Round(time.Second), s.XRestarts, s.AppRestarts, s.RSSKB, s.AnonKB, s.HeapBytes/1024, s.Goroutines, s.FDs, s.Shm, s.ShmOrphaned)
			}
		}})
	took := time.Since(start)
	if runErr != nil {
		fmt.Fprintln(stderr, "xinit-bench soak: stopped early:", runErr)
	}
	last := soak.Sample{}
	if len(samples) > 0 {
		last = samples[len(samples)-1]
	}
	fmt.Fprintf(stdout, "Soak: %d X restarts and %d app restarts in %s (%d samples, one a second; the first %s left out of the fit).\n\n",
		last.XRestarts, last.AppRestarts, took.Round(time.Second), len(samples), *warm)
	fmt.Fprintf(stdout, "| figure | after warm-up | end | min | max | slope per hour |\n|---|---|---|---|---|---|\n")
	for _, s := range soak.Summarize(soak.After(samples, *warm)) {
		unit := ""
		if s.Unit != "" {
			unit = " " + s.Unit
		}
		fmt.Fprintf(stdout, "| %s%s | %.0f | %.0f | %.0f | %.0f | %+.1f |\n", s.Name, unit, s.First, s.Last, s.Min, s.Max, s.PerHour)
	}
	if *csvPath != "" {
		if err := writeCSV(*csvPath, samples); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if *png != "" {
		if err := plotSoak(*png, samples); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if runErr != nil {
		return 1
	}
	return 0
}

func writeCSV(path string, samples []soak.Sample) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"seconds", "x_restarts", "app_restarts", "rss_kb", "anon_kb", "heap_bytes", "goroutines", "fds", "shm", "shm_orphaned"})
	for _, s := range samples {
		_ = w.Write([]string{strconv.FormatFloat(s.At.Seconds(), 'f', 1, 64), strconv.Itoa(s.XRestarts), strconv.Itoa(s.AppRestarts),
			strconv.Itoa(s.RSSKB), strconv.Itoa(s.AnonKB), strconv.FormatFloat(s.HeapBytes, 'f', 0, 64),
			strconv.Itoa(s.Goroutines), strconv.Itoa(s.FDs), strconv.Itoa(s.Shm), strconv.Itoa(s.ShmOrphaned)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// plotSoak draws one panel per figure against the number of restarts so far.
func plotSoak(path string, samples []soak.Sample) error {
	const cols, rows = 4, 2
	img := vgimg.New(vg.Points(1200), vg.Points(600))
	plots := makePlots(samples, cols, rows)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(plots, tiles, draw.New(img))
	for r := range plots {
		for c := range plots[r] {
			if plots[r][c] != nil {
				plots[r][c].Draw(canvases[r][c])
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func makePlots(samples []soak.Sample, cols, rows int) [][]*plot.Plot {
	ps := make([][]*plot.Plot, rows)
	for i, se := range soak.AllSeries {
		r, c := i/cols, i%cols
		if ps[r] == nil {
			ps[r] = make([]*plot.Plot, cols)
		}
		p := plot.New()
		p.Title.Text = se.Name
		if se.Unit != "" {
			p.Title.Text += " (" + se.Unit + ")"
		}
		p.X.Label.Text = "X + app restarts"
		pts := make(plotter.XYs, len(samples))
		for j, s := range samples {
			pts[j].X = float64(s.XRestarts + s.AppRestarts)
			pts[j].Y = se.Get(s)
		}
		p.Y.Min = 0
		if l, err := plotter.NewLine(pts); err == nil {
			p.Add(l)
		}
		ps[r][c] = p
	}
	return ps
}
