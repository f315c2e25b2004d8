// Command xinit-bench runs xinit-go beside the inits and supervisors people use
// today, on the same machine, in turn, several times, and prints medians and
// ratios (and, with -out, writes them as Markdown).
//
// Contenders: tini, dumb-init and catatonit (Debian packages) for reaping,
// signals, memory and idle cost; supervisord, a shell script in the style of
// `Xorg & sleep 5` and one that polls for the X socket for the time to a usable
// session; the X server's own time to -displayfd plus x11vnc's time to listen is
// the limit. Every contender runs as PID 1 of its own PID namespace (root needed).
//
//	go run ./cmd/xinit-bench -xinit bin/xinit-go -out docs/benchmarks.md
//	go run ./cmd/xinit-bench -short        # a quick run that only keeps it from rotting
//	go run ./cmd/xinit-bench -viewer -viewer-out docs/benchmarks.md   # the viewer's frame rate
//	go run ./cmd/xinit-bench -smooth -smooth-out docs/benchmarks.md   # the smooth view against noVNC in Chromium
//	go run ./cmd/xinit-bench density -xinit bin/xinit-go -md density.md   # sessions at once (density.go)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xinit-go/xinit-go/vnc"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "helper" {
		os.Exit(helper(os.Args[2], os.Args[3:]))
	}
	if sub, ok := subcommands[firstArg(os.Args)]; ok {
		os.Exit(sub(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type bench struct {
	xinit     string
	self      string
	runs      int
	idle      time.Duration
	orphans   []int
	out       io.Writer
	md        strings.Builder
	display   int
	appNice   int      // the viewer benchmark's app niceness
	viewerApp []string // and its command
	// noise receives the contenders' own stderr (x11vnc's and Xlib's complaints
	// when a session ends under them): discarded unless -v.
	noise io.Writer
	// errw reports failed samples; failed counts them.
	errw   io.Writer
	failed int
	short  bool // -short: a late sample is left out without failing the run
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xinit-bench", flag.ContinueOnError)
	xinit := fs.String("xinit", "bin/xinit-go", "xinit-go binary")
	runs := fs.Int("runs", 5, "runs of each measurement; medians are reported")
	idle := fs.Duration("idle", 60*time.Second, "idle window for the CPU and wake-up figures")
	orphans := fs.String("orphans", "100,1000,10000", "orphan counts for the reaping figures")
	out := fs.String("out", "", "write the report as Markdown to this file")
	short := fs.Bool("short", false, "a quick run: 1 run, 2s idle, 100 orphans, one short viewer run")
	verbose := fs.Bool("v", false, "pass the contenders' own stderr through")
	record := fs.Bool("record", false, "measure only the recorder's and the watchdog's CPU")
	recordRes := fs.String("record-res", "1280x1024,1920x1080", "screen sizes for -record")
	recordOut := fs.String("record-out", "", "rewrite the recorder section of this Markdown file (between its markers)")
	meter := fs.Bool("meter", false, "measure only what counting the screen's updates costs, at 1920x1080, with an app at -meter-rates")
	meterRates := fs.String("meter-rates", "60,500", "the stand-in app's frames a second for -meter")
	meterOut := fs.String("meter-out", "", "rewrite the update count's section of this Markdown file (between its markers)")
	viewer := fs.Bool("viewer", false, "measure only the viewer's frame rate (x11vnc direct and through the browser view's bridge)")
	viewerRes := fs.String("viewer-res", defaultViewerRes, "screen sizes for -viewer")
	viewerWindow := fs.Duration("viewer-window", 8*time.Second, "measuring window of each -viewer run")
	appNice := fs.Int("viewer-app-nice", 0, "run the viewer benchmark's app at this niceness (e.g. 19: leave the CPU to x11vnc)")
	viewerApp := fs.String("viewer-app", "glxgears -fullscreen", "the viewer benchmark's full-screen app, split on spaces")
	viewerOnly := fs.String("viewer-variants", "", "only these x11vnc variants of -viewer, by number from 1 (e.g. 1,4); all when empty")
	viewerOut := fs.String("viewer-out", "", "rewrite the viewer section of this Markdown file (between its markers)")
	smooth := fs.Bool("smooth", false, "measure only what headless Chromium draws through the smooth view and through noVNC (sizes from -viewer-res, app from -viewer-app)")
	smoothWindow := fs.Duration("smooth-window", 8*time.Second, "measuring window of each -smooth page")
	smoothFPS := fs.Int("smooth-fps", 60, "XINIT_VIEW_FPS for -smooth")
	smoothOut := fs.String("smooth-out", "", "rewrite the smooth view's section of this Markdown file (between its markers)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "xinit-bench: needs root (PID namespaces)")
		return 2
	}
	b := &bench{xinit: *xinit, runs: *runs, idle: *idle, out: stdout, display: 900 + os.Getpid()%50,
		noise: io.Discard, errw: stderr}
	if *verbose {
		b.noise = stderr
	}
	if *short {
		b.runs, b.idle, *orphans = 1, 2*time.Second, "100"
	}
	for _, s := range strings.Split(*orphans, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fmt.Fprintln(stderr, "xinit-bench: -orphans:", err)
			return 2
		}
		b.orphans = append(b.orphans, n)
	}
	var err error
	if b.self, err = os.Executable(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if b.xinit, err = filepath.Abs(b.xinit); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	b.appNice, b.viewerApp = *appNice, strings.Fields(*viewerApp)
	if *viewerOnly != "" {
		var keep []vncVariant
		for _, f := range strings.Split(*viewerOnly, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > len(vncVariants) {
				fmt.Fprintf(stderr, "xinit-bench: -viewer-variants %q: want numbers from 1 to %d\n", *viewerOnly, len(vncVariants))
				return 2
			}
			keep = append(keep, vncVariants[n-1])
		}
		vncVariants = keep
	}
	b.short = *short
	if *record {
		window := 10 * time.Second
		if *short {
			b.runs, window = 1, 2*time.Second
		}
		if err := b.recordCost(strings.Split(*recordRes, ","), window, *recordOut); err != nil {
			fmt.Fprintln(stderr, "xinit-bench: record:", err)
			return 1
		}
		return 0
	}
	if *meter {
		window := 10 * time.Second
		if *short {
			b.runs, window = 1, 2*time.Second
		}
		var rates []float64
		for _, f := range strings.Split(*meterRates, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || r <= 0 {
				fmt.Fprintf(stderr, "xinit-bench: -meter-rates %q: want rates above 0, e.g. 60,500\n", *meterRates)
				return 2
			}
			rates = append(rates, r)
		}
		if err := b.meterCost("1920x1080x24", rates, window, *meterOut); err != nil {
			fmt.Fprintln(stderr, "xinit-bench: meter:", err)
			return 1
		}
		return 0
	}
	if *smooth {
		if err := b.smooth(strings.Split(*viewerRes, ","), *smoothWindow, *smoothFPS, *smoothOut); err != nil {
			fmt.Fprintln(stderr, "xinit-bench: smooth:", err)
			return 1
		}
		return 0
	}
	if *viewer {
		if *short {
			b.runs = 1
		}
		if err := b.viewer(strings.Split(*viewerRes, ","), *viewerWindow, *viewerOut); err != nil {
			fmt.Fprintln(stderr, "xinit-bench: viewer:", err)
			return 1
		}
		return 0
	}
	b.header()
	b.reaping()
	b.signals()
	b.memoryAndIdle()
	b.session()
	if *short {
		// Keep the viewer benchmark from rotting: one variant, one size, briefly.
		variants := vncVariants
		vncVariants = vncVariants[:1]
		err := b.viewer([]string{"1280x1024"}, time.Second, "")
		vncVariants = variants
		if err != nil {
			fmt.Fprintln(stderr, "xinit-bench: viewer:", err)
			return 1
		}
	}
	if *out != "" {
		// Keep the hand-written findings below the notes marker.
		text := b.md.String()
		if old, err := os.ReadFile(*out); err == nil {
			if i := strings.Index(string(old), notesMarker); i >= 0 {
				text += "\n" + string(old[i:])
			}
		}
		if err := os.WriteFile(*out, []byte(text), 0o644); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if b.failed > 0 {
		fmt.Fprintf(stderr, "xinit-bench: %d samples failed (above); they are left out of the figures\n", b.failed)
		return 1
	}
	return 0
}

// notesMarker starts the part of the report that a run keeps as it is.
const notesMarker = "<!-- notes: kept across runs -->"

func (b *bench) printf(format string, a ...any) {
	fmt.Fprintf(b.out, format, a...)
	fmt.Fprintf(&b.md, format, a...)
}

func version(argv ...string) string {
	out, _ := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	line := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	if line == "" {
		return "?"
	}
	return line
}

func pkgVersion(pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
	if err != nil {
		return "not installed"
	}
	return string(out)
}

func (b *bench) header() {
	host, _ := os.Hostname()
	_ = host
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	b.printf("# Benchmarks\n\nDate: %s. Machine: %d cores (%s), Linux %s.\n", time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), cpu, kernel())
	b.printf("Versions: xinit-go %s; tini %s; dumb-init %s; catatonit %s; supervisor %s; s6 %s; Xvfb %s; x11vnc %s.\n",
		strings.TrimPrefix(version(b.xinit, "version"), "xinit-go "), pkgVersion("tini"), pkgVersion("dumb-init"), pkgVersion("catatonit"), pkgVersion("supervisor"),
		pkgVersion("s6"), pkgVersion("xvfb"), pkgVersion("x11vnc"))
	b.printf("Each figure is the median of %d runs; each contender runs as PID 1 of its own PID namespace.\n\n", b.runs)
	b.printf("Reproduce: `make build && go run ./cmd/xinit-bench -xinit bin/xinit-go -out docs/benchmarks.md` (as root).\n\n")
}

func kernel() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return "?"
	}
	var s []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

// contender is an init that runs one app.
type contender struct {
	name string
	argv func(app []string) []string
	env  []string
}

func (b *bench) inits() []contender {
	cs := []contender{{"xinit-go", func(app []string) []string { return append([]string{b.xinit, "--"}, app...) },
		[]string{"XINIT_BACKEND=none", "XINIT_HEALTH_ADDR=off", "XINIT_LOG_LEVEL=error"}}}
	for _, c := range []contender{
		{"tini", func(app []string) []string { return append([]string{"tini", "-s", "--"}, app...) }, nil},
		{"dumb-init", func(app []string) []string { return append([]string{"dumb-init"}, app...) }, nil},
		{"catatonit", func(app []string) []string { return append([]string{"catatonit", "--"}, app...) }, nil},
	} {
		if _, err := exec.LookPath(c.name); err == nil {
			cs = append(cs, c)
		}
	}
	return cs
}

// fail reports a sample that did not complete: it is never averaged in.
func (b *bench) fail(format string, a ...any) {
	b.failed++
	fmt.Fprintf(b.errw, "xinit-bench: failed sample: "+format+"\n", a...)
}

// late reports a sample that did not complete in time: never averaged in, and a
// failure of the run, but for -short, whose runs in make test only keep the
// benchmark from rotting on a machine that may be busy with other work.
func (b *bench) late(format string, a ...any) {
	if b.short {
		fmt.Fprintf(b.errw, "xinit-bench: sample left out (too slow on this machine now): "+format+"\n", a...)
		return
	}
	b.fail(format, a...)
}

// pid1 starts argv as PID 1 of a new PID namespace.
func (b *bench) pid1(argv []string, env []string, stdout io.Writer) (*exec.Cmd, error) {
	cmd := exec.Command("unshare", append([]string{"--pid", "--fork", "--mount-proc", "--kill-child"}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = stdout, b.noise
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, cmd.Start()
}

// childOf waits for the first child of pid (the init inside unshare).
func childOf(pid int) int {
	for i := 0; i < 2000; i++ {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if f := strings.Fields(string(data)); len(f) > 0 {
			n, _ := strconv.Atoi(f[0])
			return n
		}
		time.Sleep(time.Millisecond)
	}
	return 0
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func (b *bench) helperArgv(name string, args ...string) []string {
	return append([]string{b.self, "helper", name}, args...)
}

// reaping: N orphans blocked on a FIFO exit at once; the app measures the time from
// the wake-up to the moment /proc holds only the init and itself.
func (b *bench) reaping() {
	cs := b.inits()
	b.printf("## Reaping\n\nN orphans (children of PID 1) exit at once; the figure is the time from their wake-up to no zombie left, in ms.\n\n")
	b.printf("| orphans |")
	for _, c := range cs {
		b.printf(" %s |", c.name)
	}
	b.printf(" xinit-go / tini |\n|---|")
	for range cs {
		b.printf("---|")
	}
	b.printf("---|\n")
	peaks := map[int]float64{}
	for _, n := range b.orphans {
		meds := map[string]float64{}
		for _, c := range cs {
			var xs, hwm []float64
			for r := 0; r < b.runs; r++ {
				var out strings.Builder
				cmd, err := b.pid1(c.argv(b.helperArgv("orphans", strconv.Itoa(n))), c.env, &out)
				if err != nil {
					continue
				}
				// Sample the init's peak resident memory while it reaps.
				var peak int
				stop := make(chan struct{})
				sampled := make(chan struct{})
				go func() {
					defer close(sampled)
					init := childOf(cmd.Process.Pid)
					for {
						if kb := vmHWM(init); kb > peak {
							peak = kb
						}
						select {
						case <-stop:
							return
						case <-time.After(20 * time.Millisecond):
						}
					}
				}()
				_ = cmd.Wait()
				close(stop)
				<-sampled
				if ms, err := strconv.ParseFloat(strings.TrimSpace(lastLine(out.String())), 64); err == nil {
					xs = append(xs, ms)
				}
				hwm = append(hwm, float64(peak)/1024)
			}
			meds[c.name] = median(xs)
			if c.name == "xinit-go" {
				peaks[n] = median(hwm)
			}
		}
		b.printf("| %d |", n)
		for _, c := range cs {
			b.printf(" %.1f |", meds[c.name])
		}
		b.printf(" %s |\n", ratio(meds["xinit-go"], meds["tini"]))
	}
	b.printf("\nxinit-go's peak resident memory while reaping (VmHWM):")
	for _, n := range b.orphans {
		b.printf(" %d orphans: %.1f MB;", n, peaks[n])
	}
	b.printf("\n\n")
}

// vmHWM is a process's peak resident memory in kB.
func vmHWM(pid int) int {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

func ratio(a, base float64) string {
	if base <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", a/base)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// signals: SIGTERM to the init until it exits, with an app that exits on SIGTERM.
func (b *bench) signals() {
	cs := b.inits()
	b.printf("## Signals\n\nSIGTERM to the init until it has exited, with an app that exits at once on SIGTERM (ms).\n\n| contender | SIGTERM to exit | / tini |\n|---|---|---|\n")
	meds := map[string]float64{}
	for _, c := range cs {
		var xs []float64
		for r := 0; r < b.runs; r++ {
			dir, _ := os.MkdirTemp("", "bench-")
			ready := filepath.Join(dir, "ready")
			cmd, err := b.pid1(c.argv(b.helperArgv("trap", ready)), c.env, io.Discard)
			if err != nil {
				continue
			}
			waitFile(ready, 10*time.Second)
			init := childOf(cmd.Process.Pid)
			if init <= 0 {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				_ = cmd.Wait()
				continue
			}
			start := time.Now()
			_ = syscall.Kill(init, syscall.SIGTERM)
			_ = cmd.Wait()
			xs = append(xs, float64(time.Since(start).Microseconds())/1000)
			os.RemoveAll(dir)
		}
		meds[c.name] = median(xs)
	}
	for _, c := range cs {
		b.printf("| %s | %.1f | %s |\n", c.name, meds[c.name], ratio(meds[c.name], meds["tini"]))
	}
	b.printf("\n")
}

// procStats reads RSS (kB), CPU ticks and context switches of a process.
func procStats(pid int) (rssKB int, ticks int64, switches int64) {
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(status), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rssKB, _ = strconv.Atoi(f[1])
		case "voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:":
			n, _ := strconv.ParseInt(f[1], 10, 64)
			switches += n
		}
	}
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i > 0 {
		f := strings.Fields(s[i+2:])
		if len(f) > 13 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			ticks = u + st
		}
	}
	return rssKB, ticks, switches
}

// anonKB is the process's anonymous memory: what it allocated, without the pages
// of its executable and libraries that it maps from the page cache.
func anonKB(pid int) int {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "Anonymous:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// memoryAndIdle: the init's resident memory with a sleeping app, and its CPU ticks
// and wake-ups over the idle window.
func (b *bench) memoryAndIdle() {
	b.printf("## Memory and idle cost\n\nResident memory of the init with an idle app, and its CPU ticks and context switches over %s of idle.\n\n", b.idle)
	b.printf("| contender | RSS (MB) | / tini | anonymous (MB) | CPU ticks in %s | context switches in %s |\n|---|---|---|---|---|---|\n", b.idle, b.idle)
	var tiniRSS float64
	type row struct {
		name            string
		rss, anon       float64
		ticks, switches int64
	}
	var rows []row
	for _, c := range b.inits() {
		cmd, err := b.pid1(c.argv(b.helperArgv("sleep")), c.env, io.Discard)
		if err != nil {
			continue
		}
		init := childOf(cmd.Process.Pid)
		if init <= 0 {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
			continue
		}
		time.Sleep(time.Second)
		rss, t0, s0 := procStats(init)
		anon := anonKB(init)
		time.Sleep(b.idle)
		_, t1, s1 := procStats(init)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		rows = append(rows, row{c.name, float64(rss) / 1024, float64(anon) / 1024, t1 - t0, s1 - s0})
		if c.name == "tini" {
			tiniRSS = float64(rss) / 1024
		}
	}
	for _, r := range rows {
		b.printf("| %s | %.1f | %s | %.1f | %d | %d |\n", r.name, r.rss, ratio(r.rss, tiniRSS), r.anon, r.ticks, r.switches)
	}
	b.printf("\n")
}

func waitFile(path string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

func rfbUp(port int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	return vnc.RFBBanner(ctx, "127.0.0.1:"+strconv.Itoa(port)) == nil
}
