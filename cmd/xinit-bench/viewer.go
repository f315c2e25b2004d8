package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"

	"github.com/xinit-go/xinit-go/supervisor"
	"github.com/xinit-go/xinit-go/web"
)

// The viewer's frame rate: an RFB client that keeps one incremental update
// request outstanding counts updates, the screen area they cover and bytes, while
// glxgears -fullscreen animates; directly against x11vnc and through the browser
// view's WebSocket bridge (package web, in this process), with x11vnc's flags as
// xinit-go sets them and with alternatives. x11vnc's CPU use is beside each.

// vncBase are the flags every variant shares (xinit-go's, less the password).
var vncBase = []string{"-forever", "-shared", "-noxrecord", "-nowf", "-noscr", "-norc", "-quiet", "-nolookup", "-nobell", "-localhost", "-nopw"}

type vncVariant struct {
	name  string
	flags []string
}

var vncVariants = allVariants

// defaultViewerRes is -viewer-res's default.
const defaultViewerRes = "1280x1024,1920x1080"

var allVariants = []vncVariant{
	{"-noxdamage (xinit-go's)", []string{"-noxdamage"}},
	{"XDAMAGE on", nil},
	{"-noxdamage -threads", []string{"-noxdamage", "-threads"}},
	{"-noxdamage -wait 5 -defer 5", []string{"-noxdamage", "-wait", "5", "-defer", "5"}},
}

type viewerResult struct {
	updates, screens, mbytes, cpu float64 // per second; cpu in % of one core
	appFPS                        float64
}

// viewerEnd closes the section that -viewer-out rewrites; viewerBegin opens it
// and names the command, so each command's section is rewritten on its own.
const viewerEnd = "<!-- viewer:end -->"

func viewerBegin(cmd string) string { return "<!-- viewer:begin " + cmd + " -->" }

func (b *bench) viewer(resolutions []string, window time.Duration, out string) error {
	var md strings.Builder
	p := func(format string, a ...any) {
		fmt.Fprintf(b.out, format, a...)
		fmt.Fprintf(&md, format, a...)
	}
	cmd := fmt.Sprintf("go run ./cmd/xinit-bench -viewer -runs %d", b.runs)
	if window != 8*time.Second {
		cmd += " -viewer-window " + window.String()
	}
	if r := strings.Join(resolutions, ","); r != defaultViewerRes {
		cmd += " -viewer-res " + r
	}
	if b.appNice != 0 {
		cmd += fmt.Sprintf(" -viewer-app-nice %d", b.appNice)
	}
	if len(vncVariants) != len(allVariants) {
		var ns []string
		for _, v := range vncVariants {
			for i, a := range allVariants {
				if a.name == v.name {
					ns = append(ns, strconv.Itoa(i+1))
				}
			}
		}
		cmd += " -viewer-variants " + strings.Join(ns, ",")
	}
	if app := strings.Join(b.viewerApp, " "); app != "glxgears -fullscreen" {
		cmd += fmt.Sprintf(" -viewer-app %q", app)
	}
	title := "## Viewer frame rate"
	if app := strings.Join(b.viewerApp, " "); app != "glxgears -fullscreen" {
		title += ": `" + app + "`"
	}
	if b.appNice != 0 {
		title += fmt.Sprintf(", the app at nice %d", b.appNice)
	}
	if len(vncVariants) != len(allVariants) {
		title += ", selected flags"
	}
	p("%s\n\nReproduce (as root): `%s -viewer-out docs/benchmarks.md`.\n\n", title, cmd)
	p("Date: %s. Machine: %d cores (%s), Linux %s. %s; %s. The app: `%s`; GL renders with %s.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), cpuModel(), kernel(), "Xvfb "+pkgVersion("xvfb"), "x11vnc "+pkgVersion("x11vnc"), strings.Join(b.viewerApp, " "), glRenderer())
	p("An RFB client written for the benchmark asks for what noVNC 1.3 asks for (Tight, quality 6, compression 2), keeps one incremental update request outstanding and parses the updates without decoding pixels, for %s after a 2 s warm-up. *updates/s* counts framebuffer updates; *screens/s* is the area they cover divided by the screen's, so 1.0 is one whole screen a second; *MB/s* is what the client received; *x11vnc CPU* is its user+system time in %% of one core. *bridge* goes through xinit-go's WebSocket bridge (package web) instead of TCP; *bridge/direct* is the ratio of screens/s. Median of %d runs.\n\n", window, b.runs)
	if b.appNice != 0 {
		p("glxgears runs at nice %d here, so that x11vnc is not starved by an app that renders on the CPU (as it is not when the app renders on a GPU).\n\n", b.appNice)
	}
	p("| resolution | x11vnc flags | direct updates/s | direct screens/s | direct MB/s | direct x11vnc CPU | bridge screens/s | bridge MB/s | bridge x11vnc CPU | bridge/direct | app FPS |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, res := range resolutions {
		for _, v := range vncVariants {
			var direct, bridged []viewerResult
			for r := 0; r < b.runs; r++ {
				d, err := b.viewerRun(res, v, false, window)
				if err != nil {
					return fmt.Errorf("%s, %s, direct: %w", res, v.name, err)
				}
				br, err := b.viewerRun(res, v, true, window)
				if err != nil {
					return fmt.Errorf("%s, %s, bridge: %w", res, v.name, err)
				}
				direct, bridged = append(direct, d), append(bridged, br)
			}
			d, br := medianResult(direct), medianResult(bridged)
			p("| %s | %s | %.1f | %.2f | %.1f | %.0f%% | %.2f | %.1f | %.0f%% | %s | %.0f |\n", res, v.name,
				d.updates, d.screens, d.mbytes, d.cpu, br.screens, br.mbytes, br.cpu, ratio(br.screens, d.screens), d.appFPS)
		}
	}
	p("\n")
	if out == "" {
		return nil
	}
	return rewriteSection(out, viewerBegin(cmd), viewerEnd, md.String())
}

// rewriteSection replaces the part of a Markdown file between begin and end (the
// markers included) with body, or appends it when the file has none: a section a
// run writes, which `make bench` keeps below its notes marker.
func rewriteSection(path, begin, end, body string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	section := begin + "\n" + body + end
	text := string(old)
	if i := strings.Index(text, begin); i >= 0 && strings.Contains(text[i:], end) {
		j := i + strings.Index(text[i:], end)
		text = text[:i] + section + text[j+len(end):]
	} else {
		text = strings.TrimRight(text, "\n") + "\n\n" + section + "\n"
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

func medianResult(rs []viewerResult) viewerResult {
	pick := func(f func(viewerResult) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	return viewerResult{
		updates: pick(func(r viewerResult) float64 { return r.updates }),
		screens: pick(func(r viewerResult) float64 { return r.screens }),
		mbytes:  pick(func(r viewerResult) float64 { return r.mbytes }),
		cpu:     pick(func(r viewerResult) float64 { return r.cpu }),
		appFPS:  pick(func(r viewerResult) float64 { return r.appFPS }),
	}
}

// viewerRun starts Xvfb, glxgears -fullscreen and x11vnc with the variant's
// flags, and measures one client for the window.
func (b *bench) viewerRun(res string, v vncVariant, bridge bool, window time.Duration) (viewerResult, error) {
	d, port := b.nextDisplay(), freePort()
	dir, err := os.MkdirTemp("", "xinit-bench-viewer-")
	if err != nil {
		return viewerResult{}, err
	}
	defer os.RemoveAll(dir)
	rd, wr, err := os.Pipe()
	if err != nil {
		return viewerResult{}, err
	}
	x := exec.Command("Xvfb", ":"+strconv.Itoa(d), "-screen", "0", res+"x24", "-nolisten", "tcp", "-displayfd", "3", "-s", "0", "-dpms", "+extension", "GLX")
	x.ExtraFiles = []*os.File{wr}
	if err := x.Start(); err != nil {
		return viewerResult{}, err
	}
	wr.Close()
	defer stopProc(x)
	// Read up to the newline: Xvfb may write the number and the newline apart,
	// and a pipe closed in between kills it.
	line, _ := bufio.NewReader(rd).ReadString('\n')
	rd.Close()
	if strings.TrimSpace(line) != strconv.Itoa(d) {
		return viewerResult{}, fmt.Errorf("the X server :%d did not start (it wrote %q)", d, line)
	}
	env := append(os.Environ(), "DISPLAY=:"+strconv.Itoa(d), "XAUTHORITY=")
	fpsLog, err := os.Create(dir + "/glxgears.log")
	if err != nil {
		return viewerResult{}, err
	}
	defer fpsLog.Close()
	argv := b.viewerApp
	if b.appNice != 0 {
		argv = append([]string{"nice", "-n", strconv.Itoa(b.appNice)}, argv...)
	}
	app := exec.Command(argv[0], argv[1:]...)
	app.Env, app.Stdout, app.Stderr = env, fpsLog, fpsLog
	if err := app.Start(); err != nil {
		return viewerResult{}, err
	}
	defer stopProc(app)
	args := append([]string{"-display", ":" + strconv.Itoa(d), "-rfbport", strconv.Itoa(port)}, vncBase...)
	vnc := exec.Command("x11vnc", append(args, v.flags...)...)
	vncLog, err := os.Create(dir + "/x11vnc.log")
	if err != nil {
		return viewerResult{}, err
	}
	defer vncLog.Close()
	vnc.Env, vnc.Stdout, vnc.Stderr = env, vncLog, vncLog
	if err := vnc.Start(); err != nil {
		return viewerResult{}, err
	}
	defer stopProc(vnc)
	up := false
	for deadline := time.Now().Add(20 * time.Second); !up && time.Now().Before(deadline); {
		if up = rfbUp(port); !up {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if !up {
		log, _ := os.ReadFile(dir + "/x11vnc.log")
		return viewerResult{}, fmt.Errorf("x11vnc never answered on display :%d port %d:\n%s", d, port, log)
	}
	vncAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	var conn net.Conn
	if bridge {
		s, err := web.Listen(web.Options{Addr: "127.0.0.1:0", Root: dir, VNCAddr: vncAddr, VNCService: "vnc",
			Status: func() supervisor.Status {
				return supervisor.Status{Services: []supervisor.ServiceStatus{{Name: "vnc", State: supervisor.Ready}}}
			}, Logger: zap.NewNop()})
		if err != nil {
			return viewerResult{}, err
		}
		s.Start()
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			s.Shutdown(ctx)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ws, _, err := websocket.Dial(ctx, "ws://"+s.Addr()+"/websockify", &websocket.DialOptions{Subprotocols: []string{"binary"}})
		cancel()
		if err != nil {
			return viewerResult{}, err
		}
		ws.SetReadLimit(-1)
		conn = websocket.NetConn(context.Background(), ws, websocket.MessageBinary)
	} else {
		if conn, err = net.DialTimeout("tcp", vncAddr, 5*time.Second); err != nil {
			return viewerResult{}, err
		}
	}
	defer conn.Close()
	rc, err := newRFBClient(conn)
	if err != nil {
		return viewerResult{}, err
	}
	screen := float64(rc.W * rc.H)
	// The client reads in a goroutine; the window is read from its counters, so
	// a static screen (no update for a while) measures as well as a busy one.
	var updates, area, nbytes atomic.Int64
	done := make(chan error, 1)
	go func() {
		for {
			a, err := rc.update()
			if err != nil {
				done <- err
				return
			}
			if a > 0 {
				updates.Add(1)
				area.Add(a)
			}
			nbytes.Store(rc.bytes.n)
		}
	}()
	wait := func(d time.Duration) error {
		select {
		case err := <-done:
			return err
		case <-time.After(d):
			return nil
		}
	}
	if err := wait(2 * time.Second); err != nil {
		return viewerResult{}, fmt.Errorf("warm-up: %w", err)
	}
	_, t0, _ := procStats(vnc.Process.Pid)
	u0, a0, b0 := updates.Load(), area.Load(), nbytes.Load()
	start := time.Now()
	if err := wait(window); err != nil {
		return viewerResult{}, err
	}
	took := time.Since(start).Seconds()
	_, t1, _ := procStats(vnc.Process.Pid)
	res2 := viewerResult{
		updates: float64(updates.Load()-u0) / took,
		screens: float64(area.Load()-a0) / screen / took,
		mbytes:  float64(nbytes.Load()-b0) / 1e6 / took,
		cpu:     float64(t1-t0) / ticksPerSecond / took * 100,
	}
	conn.Close()
	<-done
	stopProc(app)
	res2.appFPS = lastFPS(dir + "/glxgears.log")
	return res2, nil
}

const ticksPerSecond = 100 // USER_HZ on Linux

func stopProc(c *exec.Cmd) {
	if c.Process == nil || c.ProcessState != nil {
		return
	}
	_ = c.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = c.Process.Kill()
		<-done
	}
	removeDeadShm()
}

// lastFPS reads glxgears' last "N frames in T seconds = F FPS" line.
func lastFPS(path string) float64 {
	b, _ := os.ReadFile(path)
	var fps float64
	for _, l := range strings.Split(string(b), "\n") {
		if i := strings.Index(l, "= "); i >= 0 && strings.HasSuffix(strings.TrimSpace(l), "FPS") {
			f, err := strconv.ParseFloat(strings.Fields(l[i+2:])[0], 64)
			if err == nil {
				fps = f
			}
		}
	}
	return fps
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if _, v, ok := strings.Cut(l, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return "?"
}

func glRenderer() string {
	if _, err := os.Stat("/dev/nvidiactl"); err == nil {
		return "the GPU when NVIDIA's GLX is present, else Mesa"
	}
	return "Mesa (llvmpipe, on the CPU)"
}
