package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	"sync"
	"syscall"
	"time"

	"github.com/xinit-go/xinit-go/health"
)

// densityBench starts N xinit-go sessions at once, each PID 1 of its own PID
// namespace with its own display, ports and runtime directory (the way N pods
// share a node and, with time-slicing, a GPU), each running the same GPU
// workload; for each N it records every session's frame rate as the app itself
// reports it, its time to ready, its CPU time by process and its memory, and
// the machine's CPU, memory and GPU. It stops a workload at the first N where
// the median session falls under -min-fps, or when a session fails.
//
//	xinit-bench density -xinit bin/xinit-go -json density.json -md density.md -png density.png
//	xinit-bench density -short -xinit bin/xinit-go    # two glxgears sessions side by side
//	xinit-bench density -from density.json -md density.md -png density.png
func densityBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xinit-bench density", flag.ContinueOnError)
	fs.SetOutput(stderr)
	xinit := fs.String("xinit", "bin/xinit-go", "xinit-go binary")
	counts := fs.String("n", "1,2,4,8,16,32", "session counts, in order")
	workloads := fs.String("workloads", "vkcube,glmark2", "workloads, each swept on its own: vkcube (through the Vulkan layer where the driver cannot present), glmark2, glxgears")
	scene := fs.String("glmark2-scene", "terrain", "glmark2's scene (-b NAME)")
	res := fs.String("res", "1920x1080", "screen and app size WIDTHxHEIGHT")
	backend := fs.String("backend", "xvfb", "XINIT_BACKEND of every session")
	vulkan := fs.String("vulkan", "auto", "XINIT_VULKAN of every session (layer: force the layer, e.g. on Mesa's lavapipe)")
	vnc := fs.Bool("vnc", true, "run x11vnc in every session (XINIT_VNC), on its own port")
	warmup := fs.Duration("warmup", 3*time.Second, "time after the last session is ready before measuring")
	window := fs.Duration("window", 12*time.Second, "measuring window (longer when an app has reported no complete sample in it yet)")
	minFPS := fs.Float64("min-fps", 30, "stop a workload after the first N whose median session runs under this")
	budget := fs.Duration("budget", 0, "skip the N that would likely end past this much time from the start (0: no limit)")
	jsonOut := fs.String("json", "", "write every session's figures as JSON to this file")
	mdOut := fs.String("md", "", "write the Markdown tables to this file")
	pngOut := fs.String("png", "", "write the plot of frame rate against sessions to this PNG file")
	logs := fs.String("logs", "", "keep every session's output in this directory")
	from := fs.String("from", "", "render -md and -png from this -json file instead of running")
	short := fs.Bool("short", false, "CI-sized: 2 sessions of glxgears at 640x480, a 6 s window")
	appEnv := fs.String("app-env", "", "extra environment of every session, comma-separated KEY=VALUE (e.g. __GL_YIELD=USLEEP)")
	verbose := fs.Bool("v", false, "print progress")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *from != "" {
		data, err := os.ReadFile(*from)
		var rep densityReport
		if err == nil {
			err = json.Unmarshal(data, &rep)
		}
		if err == nil {
			err = rep.write(stdout, *mdOut, *pngOut)
		}
		if err != nil {
			fmt.Fprintln(stderr, "xinit-bench density:", err)
			return 1
		}
		return 0
	}
	if *short {
		*counts, *workloads, *res, *window, *warmup = "2", "glxgears", "640x480", 6*time.Second, time.Second
	}
	var env []string
	for _, kv := range strings.Split(*appEnv, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			fmt.Fprintf(stderr, "xinit-bench density: -app-env %q: want KEY=VALUE[,KEY=VALUE...]\n", *appEnv)
			return 2
		}
		env = append(env, kv)
	}
	o := densityOptions{env: env, backend: *backend, vulkan: *vulkan, vnc: *vnc, warmup: *warmup, window: *window,
		minFPS: *minFPS, budget: *budget, scene: *scene, logs: *logs, errw: stderr}
	if *verbose {
		o.progress = stderr
	}
	var err error
	if o.w, o.h, err = parseSize(*res); err != nil {
		fmt.Fprintln(stderr, "xinit-bench density: -res:", err)
		return 2
	}
	for _, s := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "xinit-bench density: -n %q: want counts from 1, e.g. 1,2,4\n", *counts)
			return 2
		}
		o.counts = append(o.counts, n)
	}
	for _, w := range strings.Split(*workloads, ",") {
		if _, ok := workloadNames[strings.TrimSpace(w)]; !ok {
			fmt.Fprintf(stderr, "xinit-bench density: -workloads: unknown %q; want vkcube, glmark2 or glxgears\n", w)
			return 2
		}
		o.workloads = append(o.workloads, strings.TrimSpace(w))
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "xinit-bench: needs root (PID namespaces)")
		return 2
	}
	b := &bench{out: io.Discard, noise: io.Discard, display: 400 + os.Getpid()%400}
	if b.self, err = os.Executable(); err == nil {
		b.xinit, err = filepath.Abs(*xinit)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	rep, failed := b.density(context.Background(), o)
	rep.Command = "xinit-bench density " + strings.Join(args, " ")
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonOut, append(data, '\n'), 0o644); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if err := rep.write(stdout, *mdOut, *pngOut); err != nil {
		fmt.Fprintln(stderr, "xinit-bench density:", err)
		return 1
	}
	if failed {
		return 1
	}
	return 0
}

func parseSize(s string) (w, h int, err error) {
	a, b, ok := strings.Cut(s, "x")
	w, err1 := strconv.Atoi(a)
	h, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || w < 1 || h < 1 {
		return 0, 0, fmt.Errorf("%q: want WIDTHxHEIGHT, e.g. 1920x1080", s)
	}
	return w, h, nil
}

type densityOptions struct {
	counts             []int
	workloads          []string
	w, h               int
	backend, vulkan    string
	vnc                bool
	warmup, window     time.Duration
	minFPS             float64
	budget             time.Duration
	scene              string
	logs               string
	errw, progress     io.Writer
	proc               string // /proc, or a test's stand-in
	readyTimeout, stop time.Duration
	env                []string // added to every session's environment
}

// workload is an app every session runs, and how its frame rate is read.
type workload struct {
	name string // as the table says it
	// argv is the app's command for a run of about runFor at fps frames a second
	// (vkcube counts frames, not time).
	argv   func(o densityOptions, fps float64, runFor time.Duration) []string
	loop   bool // run it again when it exits, until the session is stopped
	parser func(o densityOptions) frameParser
}

const glmark2SceneDuration = 5 * time.Second

var workloadNames = map[string]workload{
	"vkcube": {name: "vkcube", loop: true,
		argv: func(o densityOptions, fps float64, runFor time.Duration) []string {
			frames := int(fps * runFor.Seconds())
			frames = min(frames, 20000)
			if frames < 60 {
				frames = 60
			}
			return []string{"vkcube", "--width", strconv.Itoa(o.w), "--height", strconv.Itoa(o.h), "--c", strconv.Itoa(frames)}
		},
		parser: func(densityOptions) frameParser { return &layerParser{} }},
	"glmark2": {name: "glmark2",
		argv: func(o densityOptions, _ float64, _ time.Duration) []string {
			argv := []string{"glmark2", "-s", fmt.Sprintf("%dx%d", o.w, o.h), "--run-forever",
				"-b", fmt.Sprintf("%s:duration=%g", o.scene, glmark2SceneDuration.Seconds())}
			// glmark2 writes through stdio: line-buffer it, or a pipe holds its
			// lines back for minutes.
			if _, err := exec.LookPath("stdbuf"); err == nil {
				argv = append([]string{"stdbuf", "-oL"}, argv...)
			}
			return argv
		},
		parser: func(densityOptions) frameParser { return glmark2Parser{duration: glmark2SceneDuration} }},
	"glxgears": {name: "glxgears",
		argv: func(o densityOptions, _ float64, _ time.Duration) []string {
			return []string{"glxgears", "-geometry", fmt.Sprintf("%dx%d+0+0", o.w, o.h)}
		},
		parser: func(densityOptions) frameParser { return glxgearsParser{} }},
}

// densityReport is what a run found; -json writes it and -from reads it back.
type densityReport struct {
	Date     string         `json:"date"`
	Machine  string         `json:"machine"`
	GPU      string         `json:"gpu,omitempty"`
	Command  string         `json:"command"`
	Res      string         `json:"res"`
	Backend  string         `json:"backend"`
	VNC      bool           `json:"vnc"`
	WindowS  float64        `json:"window_s"`
	MinFPS   float64        `json:"min_fps"`
	Notes    []string       `json:"notes,omitempty"`
	Env      []string       `json:"env,omitempty"`
	Steps    []densityStep  `json:"steps"`
	Workload []workloadInfo `json:"workloads"`
}

type workloadInfo struct {
	Name    string `json:"name"`
	Command string `json:"command"`
	Stopped string `json:"stopped"` // why the sweep ended
}

// densityStep is one workload at one N.
type densityStep struct {
	Workload  string           `json:"workload"`
	N         int              `json:"n"`
	Sessions  []densitySession `json:"sessions"`
	Seconds   float64          `json:"seconds"` // the measuring window
	HostCPU   float64          `json:"host_cpu_busy_pct"`
	HostCores int              `json:"host_cores"`
	MemMB     float64          `json:"host_mem_used_mb"` // above the baseline before the sessions
	GPUUtil   *float64         `json:"gpu_util_pct,omitempty"`
	GPUMemMiB *float64         `json:"gpu_mem_mib,omitempty"` // above the baseline
	Err       string           `json:"error,omitempty"`
	Took      float64          `json:"took_s"` // the whole step, start to stop
}

// densitySession is one session's figures.
type densitySession struct {
	Index      int                `json:"index"`
	Display    int                `json:"display"`
	VNCPort    int                `json:"vnc_port,omitempty"`
	HealthPort int                `json:"health_port"`
	RuntimeDir string             `json:"runtime_dir"`
	ReadyMS    float64            `json:"ready_ms"`
	FPS        float64            `json:"fps"`
	Samples    int                `json:"samples"`
	CPU        map[string]float64 `json:"cpu_pct"` // % of one core, by class
	PSSMB      float64            `json:"pss_mb"`
	// Up is true when its X socket and runtime directory were there while measured;
	// Left is true when its X socket or lock file was still there after it exited.
	Up       bool   `json:"up"`
	Left     bool   `json:"left"`
	WantExit int    `json:"want_exit"`
	Exit     int    `json:"exit"`
	Err      string `json:"error,omitempty"`
}

// density runs the sweep; failed is true when a session failed (never became
// ready, ended early, exited with another code than its app's).
func (b *bench) density(ctx context.Context, o densityOptions) (densityReport, bool) {
	if o.proc == "" {
		o.proc = "/proc"
	}
	if o.readyTimeout == 0 {
		o.readyTimeout = 120 * time.Second
	}
	if o.stop == 0 {
		o.stop = 30 * time.Second
	}
	rep := densityReport{Date: time.Now().UTC().Format("2006-01-02"), Res: fmt.Sprintf("%dx%d", o.w, o.h),
		Machine: fmt.Sprintf("%d cores (%s), %.0f GiB, Linux %s", runtime.NumCPU(), cpuModel(), memTotalGiB(o.proc), kernel()),
		GPU:     gpuName(), Env: o.env, Backend: o.backend, VNC: o.vnc, WindowS: o.window.Seconds(), MinFPS: o.minFPS}
	start := time.Now()
	failed := false
	for _, name := range o.workloads {
		wl := workloadNames[name]
		if name == "glmark2" {
			if _, err := exec.LookPath("glmark2"); err != nil {
				note := "glmark2 is not installed: the GL workload is glxgears instead, a far lighter scene"
				fmt.Fprintln(o.errw, "xinit-bench density: WARNING:", note)
				rep.Notes = append(rep.Notes, note)
				wl = workloadNames["glxgears"]
			}
		}
		info := workloadInfo{Name: wl.name, Command: strings.Join(wl.argv(o, 500, 4*time.Second), " ")}
		fps, prevN, lastTook := 500.0, 1, 0.0
		for _, n := range o.counts {
			if o.budget > 0 && lastTook > 0 && time.Since(start)+time.Duration(lastTook*1.5*float64(time.Second)) > o.budget {
				info.Stopped = fmt.Sprintf("N=%d and above skipped: the run's time budget (%s) would be passed", n, o.budget)
				break
			}
			runFor := longer(o.window/3, 2*time.Second)
			est := fps * float64(prevN) / float64(n)
			step := b.densityStep(ctx, o, wl, n, est, runFor)
			rep.Steps = append(rep.Steps, step)
			lastTook = step.Took
			med := step.medianFPS()
			if o.progress != nil {
				fmt.Fprintf(o.progress, "density: %s N=%d: median %.1f FPS, took %.0f s %s\n", wl.name, n, med, step.Took, step.Err)
			}
			if step.Err != "" || step.failed() {
				failed = true
				info.Stopped = fmt.Sprintf("stopped at N=%d: %s", n, firstNonEmpty(step.Err, "a session failed"))
				break
			}
			if med < o.minFPS {
				info.Stopped = fmt.Sprintf("stopped at N=%d: the median session ran under %g FPS", n, o.minFPS)
				break
			}
			if med > 0 {
				fps, prevN = med, n
			}
		}
		if info.Stopped == "" {
			info.Stopped = "every N ran"
		}
		rep.Workload = append(rep.Workload, info)
	}
	return rep, failed
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func (s densityStep) medianFPS() float64 {
	var xs []float64
	for _, x := range s.Sessions {
		xs = append(xs, x.FPS)
	}
	return medianOf(xs)
}

// medianOf is the middle value, or the mean of the two middle ones.
func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (s densityStep) failed() bool {
	for _, x := range s.Sessions {
		if x.Err != "" || x.Exit != x.WantExit {
			return true
		}
	}
	return false
}

// running is one session of a step.
type running struct {
	densitySession
	dir     string
	stop    string // the file whose creation ends the app
	cmd     *exec.Cmd
	out     *sessionOutput
	started time.Time
	ready   chan time.Time // receives the ready time, or is closed without one
	exited  chan struct{}
	code    int
}

// sessionOutput receives a session's stdout and stderr (xinit-go's log and the
// app's output), stamps each line with its arrival and hands it to the app's
// frame parser.
type sessionOutput struct {
	mu      sync.Mutex
	partial []byte
	log     io.Writer
	parser  frameParser
	samples []frameSample
	tail    []string
}

func (s *sessionOutput) Write(p []byte) (int, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.log.Write(p)
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		line := string(s.partial[:i])
		s.partial = s.partial[i+1:]
		if fs, ok := s.parser.line(now, line); ok {
			s.samples = append(s.samples, fs)
		}
		s.tail = append(s.tail, line)
		if len(s.tail) > 15 {
			s.tail = s.tail[1:]
		}
	}
	return len(p), nil
}

func (s *sessionOutput) rate(from, to time.Time) (float64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return rateIn(s.samples, from, to)
}

func (s *sessionOutput) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

// densityStep runs n sessions of wl at once and measures them.
func (b *bench) densityStep(ctx context.Context, o densityOptions, wl workload, n int, fps float64, runFor time.Duration) (step densityStep) {
	step = densityStep{Workload: wl.name, N: n, HostCores: runtime.NumCPU()}
	began := time.Now()
	defer func() { step.Took = time.Since(began).Seconds() }()
	top, err := os.MkdirTemp("", "xinit-bench-density-")
	if err != nil {
		step.Err = err.Error()
		return step
	}
	defer os.RemoveAll(top)
	mem0 := memUsedKB(o.proc)
	gpu0, haveGPU := gpuNow()
	gctx, stopGPU := context.WithCancel(ctx)
	gpu := startGPUSampler(gctx)
	defer func() { stopGPU(); gpu.wait() }()

	ports := map[int]bool{}
	port := func() int {
		for {
			if p := freePort(); !ports[p] {
				ports[p] = true
				return p
			}
		}
	}
	appArgv := wl.argv(o, fps, runFor)
	sessions := make([]*running, n)
	for i := range sessions {
		r := &running{dir: filepath.Join(top, fmt.Sprintf("s%02d", i)), ready: make(chan time.Time, 1), exited: make(chan struct{}),
			out: &sessionOutput{log: io.Discard, parser: wl.parser(o)}}
		r.Index, r.Display, r.HealthPort, r.WantExit = i, b.nextDisplay(), port(), 3+i%60
		if o.vnc {
			r.VNCPort = port()
		}
		r.RuntimeDir, r.stop = filepath.Join(r.dir, "run"), filepath.Join(r.dir, "stop")
		sessions[i] = r
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, r := range sessions {
		if err := b.startDensitySession(o, wl, n, r, appArgv); err != nil {
			r.Err = err.Error()
			close(r.ready)
			close(r.exited)
			continue
		}
		wg.Add(2)
		go func() { defer wg.Done(); r.waitExit() }()
		go func() { defer wg.Done(); r.pollReady(ctx, o.readyTimeout) }()
	}
	defer func() {
		for _, r := range sessions {
			b.endDensitySession(o, r)
			step.Sessions = append(step.Sessions, r.densitySession)
		}
	}()

	// Every session ready, or the step has failed.
	for _, r := range sessions {
		at, ok := <-r.ready
		if !ok {
			if r.Err == "" {
				r.Err = "never ready: " + r.out.last()
			}
			step.Err = fmt.Sprintf("session %d (display :%d) never became ready", r.Index, r.Display)
			return step
		}
		r.ReadyMS = float64(at.Sub(r.started).Microseconds()) / 1000
	}
	time.Sleep(o.warmup)
	t0, table0 := time.Now(), readProcTable(o.proc)
	busy0, total0 := hostCPU(o.proc)
	// The window, then until every app has reported a sample wholly inside it.
	deadline := t0.Add(o.window + longer(30*time.Second, 3*o.window))
	time.Sleep(o.window)
	for time.Now().Before(deadline) && !allSampled(sessions, t0) && !anyExited(sessions) {
		time.Sleep(100 * time.Millisecond)
	}
	t1, table1 := time.Now(), readProcTable(o.proc)
	busy1, total1 := hostCPU(o.proc)
	secs := t1.Sub(t0).Seconds()
	step.Seconds = secs
	step.MemMB = float64(memUsedKB(o.proc)-mem0) / 1024
	if total1 > total0 {
		step.HostCPU = float64(busy1-busy0) / float64(total1-total0) * 100
	}
	if util, mem, ok := gpu.between(t0, t1); ok && haveGPU {
		memDelta := mem - gpu0.memMiB
		step.GPUUtil, step.GPUMemMiB = &util, &memDelta
	}
	classify := classifier(o.proc)
	for _, r := range sessions {
		if anyExitedOne(r) {
			r.Err = "the session ended during the measurement: " + r.out.last()
			continue
		}
		r.FPS, r.Samples = r.out.rate(t0, t1)
		if r.Samples == 0 {
			r.Err = "the app reported no frame count inside the window: " + r.out.last()
		}
		init := childOf(r.cmd.Process.Pid)
		ticks := sessionCPU(table0, table1, init, classify)
		r.CPU = map[string]float64{}
		for _, c := range classes {
			r.CPU[c] = float64(ticks[c]) / ticksPerSecond / secs * 100
		}
		pss := 0
		for _, p := range table1.subtree(init) {
			pss += pssKB(o.proc, p)
		}
		r.PSSMB = float64(pss) / 1024
		r.Up = exists(fmt.Sprintf("/tmp/.X11-unix/X%d", r.Display)) && exists(r.RuntimeDir)
	}
	return step
}

func longer(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func allSampled(rs []*running, from time.Time) bool {
	for _, r := range rs {
		if _, n := r.out.rate(from, time.Now()); n == 0 {
			return false
		}
	}
	return true
}

func anyExited(rs []*running) bool {
	for _, r := range rs {
		if anyExitedOne(r) {
			return true
		}
	}
	return false
}

func anyExitedOne(r *running) bool {
	select {
	case <-r.exited:
		return true
	default:
		return false
	}
}

// startDensitySession starts xinit-go as PID 1 of a new PID namespace with the
// session's display, ports and runtime directory; its app is the workload helper
// (the benchmark itself), which runs the workload until the stop file appears and
// then exits with the session's own code.
func (b *bench) startDensitySession(o densityOptions, wl workload, n int, r *running, app []string) error {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return err
	}
	if o.logs != "" {
		if err := os.MkdirAll(o.logs, 0o755); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(o.logs, fmt.Sprintf("%s-n%02d-s%02d.log", wl.name, n, r.Index)))
		if err != nil {
			return err
		}
		r.out.log = f
	}
	loop := "0"
	if wl.loop {
		loop = "1"
	}
	vnc, vncPort := "off", 5900
	if o.vnc {
		vnc, vncPort = "on", r.VNCPort
	}
	argv := append([]string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child", b.xinit, "--",
		b.self, "helper", "workload", r.stop, strconv.Itoa(r.WantExit), loop}, app...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(),
		"XINIT_BACKEND="+o.backend,
		"XINIT_DISPLAY=:"+strconv.Itoa(r.Display),
		"XINIT_VNC="+vnc,
		"XINIT_VNC_PORT="+strconv.Itoa(vncPort),
		"XINIT_HEALTH_ADDR=127.0.0.1:"+strconv.Itoa(r.HealthPort),
		"XINIT_WEB_ADDR=off",
		"XINIT_RUNTIME_DIR="+r.RuntimeDir,
		fmt.Sprintf("SCREEN_RESOLUTION=%dx%dx24", o.w, o.h),
		"XINIT_LOG_FORMAT=json", "XINIT_LOG_LEVEL=info",
		"XINIT_VULKAN="+o.vulkan, "XINIT_VK_PRESENT_STATS=1")
	cmd.Env = append(cmd.Env, o.env...)
	cmd.Stdout, cmd.Stderr = r.out, r.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	r.cmd, r.started = cmd, time.Now()
	return cmd.Start()
}

func (r *running) waitExit() {
	defer close(r.exited)
	err := r.cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.code = 128 + int(ws.Signal())
		} else {
			r.code = ee.ExitCode()
		}
	default:
		r.code = -1
	}
}

// pollReady asks the session's /readyz every 10 ms until it answers 200, the
// session ends or the timeout passes.
func (r *running) pollReady(ctx context.Context, timeout time.Duration) {
	defer close(r.ready)
	addr := "127.0.0.1:" + strconv.Itoa(r.HealthPort)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := health.Probe(pctx, addr, "", "/readyz")
		cancel()
		if err == nil {
			r.ready <- time.Now()
			return
		}
		select {
		case <-r.exited:
			return
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// endDensitySession creates the stop file, so the app exits with the session's
// code and xinit-go with it; a session that does not end in time gets SIGTERM,
// then SIGKILL.
func (b *bench) endDensitySession(o densityOptions, r *running) {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = os.WriteFile(r.stop, nil, 0o644)
	select {
	case <-r.exited:
	case <-time.After(o.stop):
		if init := childOf(r.cmd.Process.Pid); init > 0 {
			_ = syscall.Kill(init, syscall.SIGTERM)
		}
		select {
		case <-r.exited:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
			<-r.exited
		}
		if r.Err == "" {
			r.Err = fmt.Sprintf("did not exit within %s of its app's stop", o.stop)
		}
	}
	r.Exit = r.code
	if r.Exit != r.WantExit && r.Err == "" {
		r.Err = fmt.Sprintf("exit code %d, want the app's %d: %s", r.Exit, r.WantExit, r.out.last())
	}
	r.Left = exists(fmt.Sprintf("/tmp/.X%d-lock", r.Display)) || exists(fmt.Sprintf("/tmp/.X11-unix/X%d", r.Display))
	if c, ok := r.out.log.(io.Closer); ok {
		_ = c.Close()
	}
	removeDisplay(r.Display)
	removeDeadShm()
}

func memTotalGiB(proc string) float64 {
	data, _ := os.ReadFile(filepath.Join(proc, "meminfo"))
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			n, _ := strconv.ParseFloat(f[1], 64)
			return n / 1024 / 1024
		}
	}
	return 0
}
