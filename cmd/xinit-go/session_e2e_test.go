package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/health"
	"github.com/xinit-go/xinit-go/internal/testutil"
	"github.com/xinit-go/xinit-go/vnc"
)

// These tests run the whole X session with real servers and clients: Xvfb or
// Xorg with the dummy driver, x11vnc, vncsnapshot, glxinfo and glxgears, with
// xinit-go as PID 1 of a PID namespace.

const password = "s3cretpw"

type xsession struct {
	t          *testing.T
	display    int
	vncPort    int
	healthAddr string
	dir        string
	p          *testutil.Proc
}

func startX(t *testing.T, backend string, env []string, app []string) *xsession {
	t.Helper()
	testutil.Need(t, "Xvfb", "x11vnc", "glxinfo", "glxgears")
	if backend == "dummy" {
		testutil.Need(t, "Xorg")
		if _, err := os.Stat("/usr/lib/xorg/modules/drivers/dummy_drv.so"); err != nil {
			testutil.Need(t, "xserver-xorg-video-dummy")
		}
	}
	s := &xsession{t: t, display: testutil.FreeDisplay(t), vncPort: testutil.FreePort(t), dir: t.TempDir()}
	s.healthAddr = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	base := []string{
		"XINIT_BACKEND=" + backend,
		"XINIT_DISPLAY=:" + strconv.Itoa(s.display),
		"XINIT_VNC_PORT=" + strconv.Itoa(s.vncPort),
		"XINIT_HEALTH_ADDR=" + s.healthAddr,
		"XINIT_RUNTIME_DIR=" + filepath.Join(s.dir, "run"),
		"SCREEN_RESOLUTION=1024x768x24",
	}
	s.p = testutil.Start(t, testutil.Options{Namespace: true, Env: append(base, env...), Args: app})
	return s
}

func (s *xsession) waitReady() {
	s.t.Helper()
	testutil.Eventually(s.t, 60*time.Second, "the session to be ready", func() bool {
		if s.p.Exited() {
			s.t.Fatalf("xinit-go exited before the session was ready\n%s", s.p.Stderr.String())
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return health.Probe(ctx, s.healthAddr, "", "/readyz") == nil
	})
}

func (s *xsession) get(path string) (int, string) {
	s.t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + s.healthAddr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// xPID finds the X server by its -displayfd argument and display.
func (s *xsession) xPID() int {
	for _, pid := range testutil.ProcsWithArg(":" + strconv.Itoa(s.display)) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.Contains(string(b), "-displayfd") {
			return pid
		}
	}
	return 0
}

// snapshot takes a picture over VNC with vncsnapshot and a password file.
func snapshot(t *testing.T, port int, pw string) (image.Image, string, error) {
	t.Helper()
	testutil.Need(t, "vncsnapshot")
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := vnc.WriteRFBAuth(pwFile, pw); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "snap.jpg")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "vncsnapshot", "-passwd", pwFile, "-allowblank", fmt.Sprintf("127.0.0.1::%d", port), out)
	log, err := cmd.CombinedOutput()
	if err != nil {
		return nil, string(log), fmt.Errorf("vncsnapshot: %v", err)
	}
	f, err := os.Open(out)
	if err != nil {
		return nil, string(log), err
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	return img, string(log), err
}

// colourful counts pixels that are clearly not black or grey: the gears.
func colourful(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			hi, lo := max(r, g, bl)>>8, min(r, g, bl)>>8
			if hi > 100 && hi-lo > 60 {
				n++
			}
		}
	}
	return n
}

// descendants lists pid and every process below it.
func descendants(pid int) []int {
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, testutil.ChildrenOf(out[i])...)
	}
	return out
}

func TestSessionEndToEnd(t *testing.T) {
	for _, backend := range []string{"xvfb", "dummy"} {
		t.Run(backend, func(t *testing.T) {
			appDir := t.TempDir()
			s := startX(t, backend, []string{"VNC_PASSWORD=" + password}, helperCmd("glx", appDir, "3"))
			waitFile(t, filepath.Join(appDir, "started"))
			s.waitReady()

			info, _ := os.ReadFile(filepath.Join(appDir, "glxinfo"))
			if !strings.Contains(string(info), "OpenGL renderer string:") {
				t.Errorf("glxinfo in the app sees no renderer:\n%s", info)
			}

			// The right password gets a picture of the requested size with the gears in it.
			var img image.Image
			testutil.Eventually(t, 30*time.Second, "a VNC picture with the gears", func() bool {
				i, log, err := snapshot(t, s.vncPort, password)
				if err != nil {
					t.Logf("%v: %s", err, log)
					return false
				}
				img = i
				return colourful(i) > 200
			})
			if b := img.Bounds(); b.Dx() != 1024 || b.Dy() != 768 {
				t.Errorf("VNC picture is %v, want 1024x768", b)
			}
			// A wrong password gets nothing.
			if _, log, err := snapshot(t, s.vncPort, "wrongpw1"); err == nil {
				t.Errorf("a wrong password got a picture: %s", log)
			}

			// The password is in no process's argv or environment, and not in the logs.
			for _, pid := range descendants(s.p.PID())[1:] {
				for _, f := range []string{"cmdline", "environ"} {
					b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
					if bytes.Contains(b, []byte(password)) || bytes.Contains(b, []byte("VNC_PASSWORD=")) {
						t.Errorf("process %d has the password in its %s", pid, f)
					}
				}
			}
			run := filepath.Join(s.dir, "run")
			if st, err := os.Stat(filepath.Join(run, "client", "vncpasswd")); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("password file: %v, %v", st, err)
			}
			for _, d := range []string{run, filepath.Join(run, "client")} {
				if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o700 {
					t.Errorf("%s: %v, %v", d, st, err)
				}
			}
			for _, path := range []string{"/status", "/healthz", "/readyz", "/metrics"} {
				if _, body := s.get(path); strings.Contains(body, password) {
					t.Errorf("%s shows the password", path)
				}
			}

			// The app's exit code is the container's, and nothing outlives xinit-go.
			if err := os.WriteFile(filepath.Join(appDir, "done"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if got := s.p.Wait(30 * time.Second); got != 3 {
				t.Errorf("exit %d, want the app's 3", got)
			}
			if strings.Contains(s.p.Stderr.String(), password) {
				t.Error("the log shows the password")
			}
			if left := testutil.ProcsWithArg(":" + strconv.Itoa(s.display)); len(left) > 0 {
				t.Errorf("processes of display :%d outlived xinit-go: %v", s.display, left)
			}
		})
	}
}

func TestAppTimeoutWritesScreenshot(t *testing.T) {
	shot := filepath.Join(t.TempDir(), "shots", "last.png")
	s := startX(t, "xvfb", []string{"XINIT_VNC=off", "XINIT_APP_TIMEOUT=4s", "XINIT_SCREENSHOT=" + shot}, []string{"--", "glxgears"})
	if got := s.p.Wait(60 * time.Second); got != 124 {
		t.Fatalf("exit %d, want 124", got)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1024 || b.Dy() != 768 {
		t.Errorf("screenshot is %v", b)
	}
	if n := colourful(img); n < 200 {
		t.Errorf("screenshot shows no gears (%d coloured pixels)", n)
	}
}

func TestXServerKilledComesBack(t *testing.T) {
	starts := filepath.Join(t.TempDir(), "starts")
	s := startX(t, "xvfb", []string{"XINIT_VNC=off"}, helperCmd("append", starts, "app"))
	s.waitReady()
	testutil.Eventually(t, 20*time.Second, "the app's first start", func() bool {
		b, _ := os.ReadFile(starts)
		return countLine(string(b), "app") == 1
	})
	first := s.xPID()
	if first == 0 {
		t.Fatal("no X server found")
	}
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "a new X server and a second start of the app", func() bool {
		b, _ := os.ReadFile(starts)
		pid := s.xPID()
		return pid != 0 && pid != first && countLine(string(b), "app") == 2
	})
	s.waitReady()
	s.p.Signal(syscall.SIGTERM)
	if got := s.p.Wait(30 * time.Second); got != 0 {
		t.Errorf("exit %d", got)
	}
}

// TestDummyOddResolution reads the screen size back with xdpyinfo: an odd width,
// and a 4K screen whose 60 Hz mode would pass the dummy driver's 300 MHz clock.
func TestDummyOddResolution(t *testing.T) {
	testutil.Need(t, "xdpyinfo")
	for _, res := range []string{"1366x768", "3840x2160"} {
		s := startX(t, "dummy", []string{"XINIT_VNC=off", "SCREEN_RESOLUTION=" + res}, []string{"--", "xdpyinfo"})
		if got := s.p.Wait(60 * time.Second); got != 0 {
			t.Fatalf("%s: exit %d", res, got)
		}
		if !strings.Contains(s.p.Stdout.String(), res+" pixels") {
			t.Errorf("xdpyinfo does not report %s:\n%s", res, s.p.Stdout.String())
		}
		if !strings.Contains(s.p.Stderr.String(), `"backend":"dummy"`) {
			t.Error("the log does not name the backend")
		}
	}
}

func TestVNCWithoutPasswordListensOnLocalhostOnly(t *testing.T) {
	s := startX(t, "xvfb", nil, helperCmd("sleep"))
	s.waitReady()
	if !strings.Contains(s.p.Stderr.String(), "no VNC password") {
		t.Error("no warning about the missing password")
	}
	port := fmt.Sprintf(":%04X", s.vncPort)
	found := false
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 4 || !strings.HasSuffix(fields[1], port) || fields[3] != "0A" {
				continue
			}
			found = true
			if local := strings.TrimSuffix(fields[1], port); local != "0100007F" && local != "00000000000000000000000001000000" {
				t.Errorf("VNC listens on %s, not only localhost", fields[1])
			}
		}
	}
	if !found {
		t.Error("VNC is not listening")
	}
	s.p.Signal(syscall.SIGTERM)
	s.p.Wait(30 * time.Second)
}

func TestLiveDisplayLockIsAClearError(t *testing.T) {
	testutil.Need(t, "Xvfb")
	display := testutil.FreeDisplay(t)
	holder := exec.Command("Xvfb", ":"+strconv.Itoa(display), "-nolisten", "tcp")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	testutil.Eventually(t, 20*time.Second, "the holder's lock", func() bool {
		_, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", display))
		return err == nil
	})
	for _, ns := range []bool{false, true} {
		p := testutil.Start(t, testutil.Options{Namespace: ns, Env: []string{"XINIT_BACKEND=xvfb", "XINIT_HEALTH_ADDR=off", "XINIT_VNC=off",
			"XINIT_DISPLAY=:" + strconv.Itoa(display), "XINIT_RUNTIME_DIR=" + t.TempDir()}, Args: helperCmd("sleep")})
		if got := p.Wait(30 * time.Second); got != 70 {
			t.Errorf("namespace=%v: exit %d, want 70", ns, got)
		}
		msg := p.Stderr.String()
		if !strings.Contains(msg, fmt.Sprintf("display :%d is in use", display)) || !strings.Contains(msg, strconv.Itoa(holder.Process.Pid)) {
			t.Errorf("namespace=%v: the error does not name the display and the holder's pid %d", ns, holder.Process.Pid)
		}
	}
	if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", display)); err != nil {
		t.Error("the live holder's lock was removed")
	}
}

func TestStaleLockIsCleared(t *testing.T) {
	display := testutil.FreeDisplay(t)
	lock := fmt.Sprintf("/tmp/.X%d-lock", display)
	// A lock left by a server that died: its pid is not alive.
	if err := os.WriteFile(lock, []byte("   4194000\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(lock) })
	p := testutil.Start(t, testutil.Options{Namespace: true, Env: []string{"XINIT_BACKEND=xvfb", "XINIT_HEALTH_ADDR=off", "XINIT_VNC=off",
		"XINIT_DISPLAY=:" + strconv.Itoa(display), "XINIT_RUNTIME_DIR=" + t.TempDir()}, Args: helperCmd("exit", "0")})
	if got := p.Wait(30 * time.Second); got != 0 {
		t.Errorf("exit %d, want 0", got)
	}
}

// TestAppUser runs the app and x11vnc as an unprivileged user while Xvfb stays
// root: the app draws through the X authority file, and VNC still serves.
func TestAppUser(t *testing.T) {
	testutil.Need(t, "id")
	// The user must reach the runtime directory: the test's own temporary
	// directories are private to root.
	rt, err := os.MkdirTemp("", "xinit-app-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(rt) })
	if err := os.Chmod(rt, 0o755); err != nil {
		t.Fatal(err)
	}
	s := startX(t, "xvfb", []string{"XINIT_APP_USER=nobody", "VNC_PASSWORD=" + password, "XINIT_RUNTIME_DIR=" + filepath.Join(rt, "run")},
		[]string{"--", "sh", "-c", "id -u; glxinfo -B | grep 'OpenGL renderer'; exec glxgears"})
	s.waitReady()
	testutil.Eventually(t, 20*time.Second, "the app's output", func() bool {
		return strings.Contains(s.p.Stdout.String(), "OpenGL renderer")
	})
	if !strings.HasPrefix(s.p.Stdout.String(), "65534\n") {
		t.Errorf("the app does not run as nobody: %q", s.p.Stdout.String())
	}
	// The GL probe ran as the app does, and found what the app found.
	testutil.Eventually(t, 20*time.Second, "the GL probe's result", func() bool {
		return strings.Contains(s.p.Stderr.String(), `"msg":"GL renderer`)
	})
	if !strings.Contains(s.p.Stderr.String(), `"uid":65534`) {
		t.Errorf("the GL probe did not run as nobody:\n%s", s.p.Stderr.String())
	}
	for _, pid := range descendants(s.p.PID())[1:] {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		uid := ""
		for _, l := range strings.Split(string(status), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
				uid = f[1]
			}
		}
		switch strings.TrimSpace(string(comm)) {
		case "x11vnc", "glxgears":
			if uid != "65534" {
				t.Errorf("%s runs as uid %s", comm, uid)
			}
		case "Xvfb":
			if uid != "0" {
				t.Errorf("Xvfb runs as uid %s", uid)
			}
		}
	}
	testutil.Eventually(t, 30*time.Second, "a VNC picture with the gears", func() bool {
		img, _, err := snapshot(t, s.vncPort, password)
		return err == nil && colourful(img) > 200
	})
	s.p.Signal(syscall.SIGTERM)
	if c := s.p.Wait(30 * time.Second); c != 143 && c != 0 {
		t.Errorf("exit %d", c)
	}
}

// TestXNeedsTheCookie: a client without the X authority file is refused.
func TestXNeedsTheCookie(t *testing.T) {
	testutil.Need(t, "xdpyinfo")
	s := startX(t, "xvfb", []string{"XINIT_VNC=off"}, helperCmd("sleep"))
	s.waitReady()
	cmd := exec.Command("xdpyinfo", "-display", ":"+strconv.Itoa(s.display))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "XAUTHORITY=/nonexistent", "HOME=/nonexistent"}
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("a client without the cookie connected:\n%s", out)
	}
	cmd = exec.Command("xdpyinfo", "-display", ":"+strconv.Itoa(s.display))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "XAUTHORITY=" + filepath.Join(s.dir, "run", "client", "Xauthority")}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("a client with the cookie was refused: %v\n%s", err, out)
	}
	s.p.Signal(syscall.SIGTERM)
	s.p.Wait(30 * time.Second)
}
