package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/internal/testutil"
	"github.com/xinit-go/xinit-go/vnc"
)

// These tests play a hostile app (run as an unprivileged user) and an unlucky
// operator against the real binary as PID 1.

// TestClientDirLinksAreNotFollowed: run 1's app, as nobody, replaces the files of
// its client directory with links to a root-only file and exits; run 2 with the
// same runtime directory (a restarted container) must not write, chmod or chown
// that file.
func TestClientDirLinksAreNotFollowed(t *testing.T) {
	testutil.Need(t, "Xvfb", "x11vnc")
	victim := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(victim, []byte("root:secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// nobody must reach its client directory, so the runtime directory's parent
	// is not one of the test's private temporary directories.
	base, err := os.MkdirTemp("", "xinit-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"XINIT_BACKEND=xvfb", "XINIT_HEALTH_ADDR=off", "XINIT_APP_USER=nobody", "VNC_PASSWORD=" + password,
		"XINIT_DISPLAY=:" + strconv.Itoa(testutil.FreeDisplay(t)), "XINIT_VNC_PORT=" + strconv.Itoa(testutil.FreePort(t)),
		"XINIT_RUNTIME_DIR=" + filepath.Join(base, "run")}
	plant := `cd "$(dirname "$XAUTHORITY")" && rm -f Xauthority vncpasswd && ` +
		`for f in Xauthority vncpasswd Xauthority.tmp vncpasswd.tmp; do ln -s "$1" "$f" || exit 9; done; exit 1`
	p := testutil.Start(t, testutil.Options{Namespace: true, Env: env, Args: []string{"--", "sh", "-c", plant, "sh", victim}})
	if c := p.Wait(60 * time.Second); c != 1 {
		t.Fatalf("run 1: exit %d, want the app's 1 (the links were not planted)", c)
	}
	p = testutil.Start(t, testutil.Options{Namespace: true, Env: env, Args: []string{"--", "sh", "-c", `test -O "$XAUTHORITY" && test ! -L "$XAUTHORITY"`}})
	if c := p.Wait(60 * time.Second); c != 0 {
		t.Errorf("run 2: exit %d, want 0 (the app's X authority file is its own, not a link)", c)
	}
	b, _ := os.ReadFile(victim)
	st, err := os.Lstat(victim)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "root:secret\n" || st.Mode() != 0o600 || st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("root followed the app's links: the target now holds %q, mode %v, uid %d", b, st.Mode(), st.Sys().(*syscall.Stat_t).Uid)
	}
}

// TestSharedRuntimeDirIsRefused: a runtime directory other users can write (/tmp)
// is refused with 78 and left as it was; xinit-go never chmods a directory it did
// not make.
func TestSharedRuntimeDirIsRefused(t *testing.T) {
	testutil.Need(t, "Xvfb")
	shared := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	p := testutil.Start(t, testutil.Options{Namespace: true, Env: []string{"XINIT_BACKEND=xvfb", "XINIT_HEALTH_ADDR=off", "XINIT_VNC=off",
		"XINIT_DISPLAY=:" + strconv.Itoa(testutil.FreeDisplay(t)), "XINIT_RUNTIME_DIR=" + shared}, Args: helperCmd("exit", "0")})
	if c := p.Wait(30 * time.Second); c != 78 {
		t.Errorf("exit %d, want 78", c)
	}
	msg := p.Stderr.String()
	if !strings.Contains(msg, "XINIT_RUNTIME_DIR") || !strings.Contains(msg, "other users can write it") || !strings.Contains(msg, "e.g.") || strings.Contains(msg, `"msg":"started"`) {
		t.Errorf("want a message naming XINIT_RUNTIME_DIR, what is wrong and an example, with nothing started:\n%s", msg)
	}
	if st, err := os.Stat(shared); err != nil || st.Mode() != os.ModeDir|os.ModeSticky|0o777 {
		t.Errorf("the shared directory was changed: %v, %v", st.Mode(), err)
	}
}

// TestLiveSocketWithoutLockIsKept: another X server's lock file is not visible
// (only the socket directory is shared, as with a sidecar), but its socket
// answers: it is a clear "display in use" (70), and the socket is not removed.
func TestLiveSocketWithoutLockIsKept(t *testing.T) {
	testutil.Need(t, "Xvfb")
	display := testutil.FreeDisplay(t)
	holder := exec.Command("Xvfb", ":"+strconv.Itoa(display), "-nolisten", "tcp")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	lock, sock := fmt.Sprintf("/tmp/.X%d-lock", display), fmt.Sprintf("/tmp/.X11-unix/X%d", display)
	testutil.Eventually(t, 20*time.Second, "the holder's socket", func() bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	p := testutil.Start(t, testutil.Options{Namespace: true, Env: []string{"XINIT_BACKEND=xvfb", "XINIT_HEALTH_ADDR=off", "XINIT_VNC=off",
		"XINIT_DISPLAY=:" + strconv.Itoa(display), "XINIT_RUNTIME_DIR=" + filepath.Join(t.TempDir(), "run")}, Args: helperCmd("sleep")})
	if got := p.Wait(30 * time.Second); got != 70 {
		t.Errorf("exit %d, want 70", got)
	}
	if msg := p.Stderr.String(); !strings.Contains(msg, fmt.Sprintf("display :%d is in use", display)) || !strings.Contains(msg, "XINIT_DISPLAY=:") {
		t.Errorf("the error does not say that display :%d is in use with an example:\n%s", display, msg)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("the live server's socket was removed: %v", err)
	}
}

// TestVNCListensOnIPv6: XINIT_VNC_LISTEN=::1 serves VNC on the IPv6 loopback
// only; :: serves it on every interface, IPv6 and IPv4.
func TestVNCListensOnIPv6(t *testing.T) {
	if c, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		testutil.Need(t, "an IPv6 loopback ("+err.Error()+")")
	} else {
		c.Close()
	}
	for _, tc := range []struct {
		listen     string
		v6, v4     bool
		statusAddr string
	}{
		{"::1", true, false, "[::1]:"},
		{"::", true, true, "[::]:"},
	} {
		t.Run(tc.listen, func(t *testing.T) {
			s := startX(t, "xvfb", []string{"VNC_PASSWORD=" + password, "XINIT_VNC_LISTEN=" + tc.listen}, helperCmd("sleep"))
			s.waitReady()
			vncOnlyOnItsPort(t, s)
			port := strconv.Itoa(s.vncPort)
			for _, c := range []struct {
				addr string
				want bool
			}{{net.JoinHostPort("::1", port), tc.v6}, {net.JoinHostPort("127.0.0.1", port), tc.v4}} {
				err := vnc.RFBBanner(testutil.Context(t, 10*time.Second), c.addr)
				if (err == nil) != c.want {
					t.Errorf("VNC at %s: %v, want answering=%v", c.addr, err, c.want)
				}
			}
			_, body := s.get("/status")
			var st struct{ VNC string }
			if err := json.Unmarshal([]byte(body), &st); err != nil || st.VNC != tc.statusAddr+port {
				t.Errorf("/status gives the VNC address %q (%v), want %s%s", st.VNC, err, tc.statusAddr, port)
			}
			s.p.Signal(syscall.SIGTERM)
			s.p.Wait(30 * time.Second)
		})
	}
}

// TestVNCCrashLoopLeavesTheApp: beside an app VNC is optional to the session: an
// x11vnc that spends its restart budget neither stops the app nor changes the exit
// code, which stays the app's.
func TestVNCCrashLoopLeavesTheApp(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "app-ready")
	s := startX(t, "xvfb", []string{"VNC_PASSWORD=" + password, "XINIT_RESTART_BUDGET=1/1m", "XINIT_RESTART_BACKOFF=250ms"},
		helperCmd("trap", "3", ready))
	s.waitReady()
	waitFile(t, ready)
	x11vnc := func() int {
		for _, pid := range descendants(s.p.PID()) {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(b)) == "x11vnc" {
				return pid
			}
		}
		return 0
	}
	for kill := 1; kill <= 2; kill++ {
		var pid int
		testutil.Eventually(t, 30*time.Second, "x11vnc to be ready", func() bool {
			pid = x11vnc()
			return pid != 0 && strings.Count(s.p.Stderr.String(), `"msg":"ready","service":"vnc"`) == kill
		})
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 30*time.Second, "VNC to fail for good", func() bool {
		return strings.Contains(s.p.Stderr.String(), "optional service failed for good")
	})
	var st struct {
		Services []struct{ Name, State string }
	}
	_, body := s.get("/status")
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	for _, sv := range st.Services {
		want := "ready"
		switch sv.Name {
		case "vnc":
			want = "failed"
		case "gl":
			want = "done" // the GL renderer probe, a oneshot
		}
		if sv.State != want {
			t.Errorf("%s is %s, want %s", sv.Name, sv.State, want)
		}
	}
	if s.p.Exited() {
		t.Fatalf("xinit-go stopped with VNC: exit %d", s.p.Wait(time.Second))
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := s.get(path); code != 503 || !strings.Contains(body, "vnc") {
			t.Errorf("%s: %d %q, want 503 naming vnc", path, code, body)
		}
	}
	// The file holds its pid in the namespace: find it from here, as the child of
	// xinit-go that has the file among its arguments.
	var app []int
	for _, pid := range testutil.ProcsWithArg(ready) {
		if slices.Contains(testutil.ChildrenOf(s.p.PID()), pid) {
			app = append(app, pid)
		}
	}
	if len(app) != 1 {
		t.Fatalf("app processes %v, want one", app)
	}
	if err := syscall.Kill(app[0], syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if c := s.p.Wait(30 * time.Second); c != 3 {
		t.Errorf("exit %d, want the app's 3", c)
	}
}
