package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// usable waits until the app has written its marker and VNC answers, and returns
// the time since start.
func usable(start time.Time, marker string, port int, timeout time.Duration) (time.Duration, bool) {
	appAt, vncAt := time.Time{}, time.Time{}
	deadline := start.Add(timeout)
	for time.Now().Before(deadline) {
		if appAt.IsZero() {
			if _, err := os.Stat(marker); err == nil {
				appAt = time.Now()
			}
		}
		if vncAt.IsZero() && rfbUp(port) {
			vncAt = time.Now()
		}
		if !appAt.IsZero() && !vncAt.IsZero() {
			return max(appAt, vncAt).Sub(start), true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, false
}

func max(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// freePort returns a TCP port that was free a moment ago and that this run
// has not handed out before: the kernel may answer two binds to port 0 in a
// row with the same port once the first is closed.
func freePort() int {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			break
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsGiven[p] {
			portsGiven[p] = true
			return p
		}
	}
	return 5999
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

type sessionContender struct {
	name string
	// start launches the contender for display d, VNC port p and app marker m.
	start func(d, p int, m, dir string) (*exec.Cmd, error)
}

func (b *bench) nextDisplay() int {
	b.display++
	for {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", b.display)); err != nil {
			return b.display
		}
		b.display++
	}
}

func (b *bench) session() {
	b.printf("## Time to a usable session\n\nFrom exec to the app running and VNC answering with an RFB banner (ms), 1280x1024x24. The limit is the X server's own time to report its display on -displayfd plus x11vnc's time to answer, measured in the same run.\n\n")
	xinit := func(backend string) func(d, p int, m, dir string) (*exec.Cmd, error) {
		return b.xinitAt(backend, "1280x1024x24")
	}
	script := func(wait string) func(d, p int, m, dir string) (*exec.Cmd, error) {
		return func(d, p int, m, dir string) (*exec.Cmd, error) {
			w := strings.ReplaceAll(wait, "N", strconv.Itoa(d))
			sh := fmt.Sprintf("Xvfb :%d -screen 0 1280x1024x24 -nolisten tcp >/dev/null 2>&1 &\n%s\nx11vnc -display :%d -rfbport %d -forever -shared -localhost -nopw -quiet >/dev/null 2>&1 &\nDISPLAY=:%d exec %s",
				d, w, d, p, d, strings.Join(b.helperArgv("mark", m), " "))
			return b.pid1([]string{"tini", "-s", "--", "sh", "-c", sh}, nil, io.Discard)
		}
	}
	supervisord := func(d, p int, m, dir string) (*exec.Cmd, error) {
		conf := filepath.Join(dir, "supervisord.conf")
		text := fmt.Sprintf(`[supervisord]
nodaemon=true
logfile=%[1]s/supervisord.log
pidfile=%[1]s/supervisord.pid
[program:x]
command=Xvfb :%[2]d -screen 0 1280x1024x24 -nolisten tcp
priority=1
[program:vnc]
command=x11vnc -display :%[2]d -rfbport %[3]d -forever -shared -localhost -nopw -quiet
priority=2
startretries=100
[program:app]
command=%[4]s
environment=DISPLAY=":%[2]d"
priority=3
`, dir, d, p, strings.Join(b.helperArgv("mark", m), " "))
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			return nil, err
		}
		return b.pid1([]string{"supervisord", "-c", conf}, nil, io.Discard)
	}
	s6 := func(d, p int, m, dir string) (*exec.Cmd, error) {
		scan := filepath.Join(dir, "s6")
		runs := map[string]string{
			"x":   fmt.Sprintf("exec Xvfb :%d -screen 0 1280x1024x24 -nolisten tcp", d),
			"vnc": fmt.Sprintf("exec x11vnc -display :%d -rfbport %d -forever -shared -localhost -nopw -quiet", d, p),
			"app": fmt.Sprintf("DISPLAY=:%d exec %s", d, strings.Join(b.helperArgv("mark", m), " ")),
		}
		for name, run := range runs {
			if err := os.MkdirAll(filepath.Join(scan, name), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(scan, name, "run"), []byte("#!/bin/sh\n"+run+"\n"), 0o755); err != nil {
				return nil, err
			}
		}
		return b.pid1([]string{"s6-svscan", scan}, nil, io.Discard)
	}
	contenders := []sessionContender{
		{"xinit-go (xvfb)", xinit("xvfb")},
		{"xinit-go (dummy)", xinit("dummy")},
		{"shell: Xvfb & sleep 5", script("sleep 5")},
		{"shell: poll the X socket every 100 ms", script("while [ ! -S /tmp/.X11-unix/XN ]; do sleep 0.1; done")},
	}
	if _, err := exec.LookPath("supervisord"); err == nil {
		contenders = append(contenders, sessionContender{"supervisord", supervisord})
	}
	if _, err := exec.LookPath("s6-svscan"); err == nil {
		contenders = append(contenders, sessionContender{"s6 (s6-svscan, a run script each)", s6})
	}
	if _, err := exec.LookPath("Xorg"); err != nil {
		contenders = append(contenders[:1], contenders[2:]...)
	}

	limit := b.limit()
	b.printf("| contender | time to usable | / limit | RSS of the init with the session up (MB) |\n|---|---|---|---|\n")
	b.printf("| limit: Xvfb to -displayfd + x11vnc to banner | %.0f | 1.00 | — |\n", limit)
	for _, c := range contenders {
		var xs, rss []float64
		for r := 0; r < b.runs; r++ {
			dir, _ := os.MkdirTemp("", "bench-")
			d, p := b.nextDisplay(), freePort()
			m := filepath.Join(dir, "app")
			start := time.Now()
			cmd, err := c.start(d, p, m, dir)
			if err != nil {
				b.fail("%s: start: %v", c.name, err)
				os.RemoveAll(dir)
				continue
			}
			if took, ok := usable(start, m, p, 30*time.Second); ok {
				xs = append(xs, float64(took.Microseconds())/1000)
				if init := childOf(cmd.Process.Pid); init != 0 {
					kb, _, _ := procStats(init)
					rss = append(rss, float64(kb)/1024)
				}
			} else {
				b.late("%s: no usable session (app running and VNC answering) within 30 s", c.name)
			}
			stopInit(cmd)
			removeDisplay(d)
			os.RemoveAll(dir)
		}
		if len(xs) == 0 {
			b.printf("| %s | failed | — | — |\n", c.name)
			continue
		}
		b.printf("| %s | %.0f | %s | %.1f |\n", c.name, median(xs), ratio(median(xs), limit), median(rss))
	}
	b.printf("\n")
	b.resolutions()
	b.restartAndChain()
}

func (b *bench) xinitAt(backend, res string) func(d, p int, m, dir string) (*exec.Cmd, error) {
	return func(d, p int, m, dir string) (*exec.Cmd, error) {
		return b.pid1(append([]string{b.xinit, "--"}, b.helperArgv("mark", m)...), []string{
			"XINIT_BACKEND=" + backend, "XINIT_DISPLAY=:" + strconv.Itoa(d), "XINIT_VNC_PORT=" + strconv.Itoa(p),
			"XINIT_HEALTH_ADDR=off", "XINIT_WEB_ADDR=off", "XINIT_LOG_LEVEL=error", "XINIT_RUNTIME_DIR=" + filepath.Join(dir, "run"),
			"SCREEN_RESOLUTION=" + res}, io.Discard)
	}
}

// timeToUsable runs one contender runs times and returns the median in ms.
func (b *bench) timeToUsable(name string, start func(d, p int, m, dir string) (*exec.Cmd, error)) float64 {
	var xs []float64
	for r := 0; r < b.runs; r++ {
		dir, _ := os.MkdirTemp("", "bench-")
		d, p := b.nextDisplay(), freePort()
		m := filepath.Join(dir, "app")
		t0 := time.Now()
		cmd, err := start(d, p, m, dir)
		if err != nil {
			b.fail("%s: start: %v", name, err)
			os.RemoveAll(dir)
			continue
		}
		if took, ok := usable(t0, m, p, 20*time.Second); ok {
			xs = append(xs, float64(took.Microseconds())/1000)
		} else {
			b.late("%s: no usable session within 20 s", name)
		}
		stopInit(cmd)
		removeDisplay(d)
		os.RemoveAll(dir)
	}
	return median(xs)
}

// stopInit sends SIGTERM to the init in the namespace and waits, then kills.
func stopInit(cmd *exec.Cmd) {
	defer removeDeadShm()
	if init := childOf(cmd.Process.Pid); init != 0 {
		_ = syscall.Kill(init, syscall.SIGTERM)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// resolutions: how the time to a usable session grows with the screen size.
func (b *bench) resolutions() {
	b.printf("### By resolution\n\nxinit-go with Xvfb, time to a usable session (ms):\n\n| resolution | xvfb |")
	withDummy := true
	if _, err := exec.LookPath("Xorg"); err != nil {
		withDummy = false
	}
	if withDummy {
		b.printf(" dummy |")
	}
	b.printf("\n|---|---|")
	if withDummy {
		b.printf("---|")
	}
	b.printf("\n")
	for _, res := range []string{"1280x1024x24", "1920x1080x24", "3840x2160x24", "7680x4320x24"} {
		b.printf("| %s | %.0f |", res, b.timeToUsable("xinit-go (xvfb) at "+res, b.xinitAt("xvfb", res)))
		if withDummy {
			b.printf(" %.0f |", b.timeToUsable("xinit-go (dummy) at "+res, b.xinitAt("dummy", res)))
		}
		b.printf("\n")
	}
	b.printf("\n")
}

// limit measures Xvfb's own time to -displayfd and x11vnc's time to its banner.
func (b *bench) limit() float64 {
	var xs []float64
	for r := 0; r < b.runs; r++ {
		d, p := b.nextDisplay(), freePort()
		rd, wr, err := os.Pipe()
		if err != nil {
			continue
		}
		start := time.Now()
		x := exec.Command("Xvfb", ":"+strconv.Itoa(d), "-screen", "0", "1280x1024x24", "-nolisten", "tcp", "-displayfd", "3")
		x.ExtraFiles = []*os.File{wr}
		x.Stderr = b.noise
		if err := x.Start(); err != nil {
			wr.Close()
			rd.Close()
			b.fail("limit: start Xvfb: %v", err)
			continue
		}
		wr.Close()
		buf := make([]byte, 16)
		n, _ := rd.Read(buf)
		xTook := time.Since(start)
		rd.Close()
		if n == 0 {
			b.fail("limit: Xvfb :%d exited before it reported its display", d)
		} else {
			b.limitVNC(d, p, xTook, &xs)
		}
		_ = x.Process.Kill()
		_ = x.Wait()
		removeDisplay(d)
	}
	removeDeadShm()
	return median(xs)
}

// limitVNC times x11vnc on display d to its banner; a time-out is a failed sample.
func (b *bench) limitVNC(d, p int, xTook time.Duration, xs *[]float64) {
	vstart := time.Now()
	v := exec.Command("x11vnc", "-display", ":"+strconv.Itoa(d), "-rfbport", strconv.Itoa(p), "-forever", "-shared", "-localhost", "-nopw", "-quiet")
	v.Stdout, v.Stderr = b.noise, b.noise
	if err := v.Start(); err != nil {
		b.fail("limit: start x11vnc: %v", err)
		return
	}
	defer func() { _ = v.Process.Kill(); _ = v.Wait() }()
	deadline := vstart.Add(30 * time.Second)
	for !rfbUp(p) {
		if time.Now().After(deadline) {
			b.late("limit: x11vnc on :%d did not answer on port %d within 30 s", d, p)
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	*xs = append(*xs, float64((xTook+time.Since(vstart)).Microseconds())/1000)
}

// removeDisplay removes the lock file and socket of display d that the benchmark
// chose: a contender's X server killed inside its PID namespace leaves them, with
// a pid from that namespace that may be a live process out here. The benchmark
// picked d because it was free, and everything started on it has ended.
func removeDisplay(d int) {
	_ = os.Remove(fmt.Sprintf("/tmp/.X%d-lock", d))
	_ = os.Remove(fmt.Sprintf("/tmp/.X11-unix/X%d", d))
}

// removeDeadShm removes the System V shared memory segments that nobody has
// attached and whose creator is gone: the contenders other than xinit-go leave
// x11vnc's MIT-SHM segments behind when a PID namespace ends (about 34 each), and a
// few benchmark runs would use up the kernel's limit of 4,096.
func removeDeadShm() {
	data, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 7 || f[6] != "0" {
			continue
		}
		cpid, _ := strconv.Atoi(f[4])
		if cpid <= 0 || syscall.Kill(cpid, 0) == nil {
			continue
		}
		if id, err := strconv.Atoi(f[1]); err == nil {
			_, _, _ = syscall.Syscall(syscall.SYS_SHMCTL, uintptr(id), 0 /* IPC_RMID */, 0)
		}
	}
}

// restartAndChain: the app killed until it runs again (less the backoff), and SIGTERM
// to exit with X, VNC and the app up.
func (b *bench) restartAndChain() {
	var restart, chain []float64
	for r := 0; r < b.runs; r++ {
		dir, _ := os.MkdirTemp("", "bench-")
		d, p := b.nextDisplay(), freePort()
		m := filepath.Join(dir, "app")
		cmd, err := b.pid1(append([]string{b.xinit, "--"}, b.helperArgv("mark", m)...), []string{
			"XINIT_BACKEND=xvfb", "XINIT_DISPLAY=:" + strconv.Itoa(d), "XINIT_VNC_PORT=" + strconv.Itoa(p),
			"XINIT_HEALTH_ADDR=off", "XINIT_WEB_ADDR=off", "XINIT_LOG_LEVEL=error", "XINIT_RUNTIME_DIR=" + filepath.Join(dir, "run"),
			"XINIT_APP_RESTART=always"}, io.Discard)
		if err != nil {
			b.fail("restart: start xinit-go: %v", err)
			os.RemoveAll(dir)
			continue
		}
		if _, ok := usable(time.Now(), m, p, 30*time.Second); ok {
			// The pid the app wrote is its pid inside the namespace; find its pid here.
			pid := hostPID("mark", m)
			os.Remove(m)
			start := time.Now()
			if pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			if pid > 0 && waitFile(m, 10*time.Second) {
				// 250 ms is the first restart's backoff.
				restart = append(restart, float64((time.Since(start)-250*time.Millisecond).Microseconds())/1000)
			} else {
				b.late("restart: the app (pid %d here) did not run again within 10 s of SIGKILL", pid)
			}
			time.Sleep(300 * time.Millisecond)
			if init := childOf(cmd.Process.Pid); init > 0 {
				start = time.Now()
				_ = syscall.Kill(init, syscall.SIGTERM)
				_ = cmd.Wait()
				chain = append(chain, float64(time.Since(start).Microseconds())/1000)
			} else {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				_ = cmd.Wait()
			}
		} else {
			b.late("restart: no usable xinit-go session within 30 s")
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		}
		removeDisplay(d)
		os.RemoveAll(dir)
	}
	b.printf("## Restart and stop\n\n| figure | xinit-go (ms) |\n|---|---|\n")
	b.printf("| app killed until it runs again, less the 250 ms backoff | %.1f |\n", median(restart))
	b.printf("| SIGTERM to exit with Xvfb, x11vnc and the app up (reverse order) | %.1f |\n\n", median(chain))
}

// hostPID finds, in this PID namespace, the helper process itself: its command line
// is exactly the helper's (the inits above it carry the same words after theirs).
func hostPID(name, arg string) int {
	ents, _ := os.ReadDir("/proc")
	self, _ := os.Executable()
	want := self + "\x00helper\x00" + name + "\x00" + arg + "\x00"
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if string(b) == want {
			return pid
		}
	}
	return 0
}
