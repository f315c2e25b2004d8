package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/internal/procfs"
)

// InCI reports whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") != "" }

// Need makes sure the programs exist: in CI a missing one fails the test,
// elsewhere it skips with a loud reason.
func Need(t testing.TB, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			missing(t, fmt.Sprintf("%s is not installed (bash .ci/run installs it)", p))
		}
	}
}

// NeedRoot makes sure the tests run as root (PID namespaces, Xorg).
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "needs root for PID namespaces and Xorg")
	}
}

func missing(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI must run this test, but %s", why)
	}
	t.Skipf("SKIPPED, NOT RUN: %s", why)
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	buildDir  string
)

// Binary builds cmd/xinit-go once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "xinit-go-bin-")
		if buildErr != nil {
			return
		}
		// An app user runs the binary too (the GL probe runs as the app): the
		// directory just made is opened and chmod'ed by descriptor.
		var d *os.File
		if d, buildErr = os.Open(buildDir); buildErr != nil {
			return
		}
		buildErr = d.Chmod(0o755)
		d.Close()
		if buildErr != nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		buildPath = filepath.Join(buildDir, "xinit-go")
		cmd := exec.Command("go", "build", "-buildvcs=auto", "-o", buildPath, "./cmd/xinit-go")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_CFLAGS=-O2 -Wno-deprecated-declarations")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Cleanup removes what Binary built; call it at the end of TestMain.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// Options of a run of xinit-go.
type Options struct {
	Env  []string // added to a clean environment
	Args []string
	// Namespace runs xinit-go as PID 1 of a new PID namespace; otherwise it runs
	// as a plain child and acts as a subreaper.
	Namespace bool
	Stdin     *os.File
}

// Proc is a running xinit-go.
type Proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	Stdout *syncBuffer
	Stderr *syncBuffer
	done   chan struct{}
	code   int
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// BaseEnv is the environment runs start from: PATH, the helper switch, and the
// browser view off.
func BaseEnv() []string {
	// The browser view's default port is fixed (:6080): runs at once would fight
	// over it, so tests that want the view give it a free port.
	return []string{"PATH=" + os.Getenv("PATH"), HelperEnviron(), "HOME=/root", "XINIT_LOG_FORMAT=json", "XINIT_LOG_LEVEL=debug", "XINIT_WEB_ADDR=off"}
}

// Start runs xinit-go; the test fails if it is still running at cleanup.
func Start(t testing.TB, o Options) *Proc {
	t.Helper()
	bin := Binary(t)
	argv := append([]string{bin}, o.Args...)
	if o.Namespace {
		NeedRoot(t)
		Need(t, "unshare")
		argv = append([]string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(BaseEnv(), o.Env...)
	p := &Proc{t: t, cmd: cmd, Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.Stdout, p.Stderr
	cmd.Stdin = o.Stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A descendant that escaped (the bug a test looks for) may hold the pipes open.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.code = 128 + int(ws.Signal())
			} else {
				p.code = ee.ExitCode()
			}
		default:
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
			t.Errorf("xinit-go was still running at the end of the test\nstderr:\n%s", p.Stderr.String())
		}
		if t.Failed() {
			t.Logf("xinit-go stdout:\n%s\nxinit-go stderr:\n%s", p.Stdout.String(), p.Stderr.String())
		}
	})
	return p
}

// PID is the host pid of xinit-go itself (inside unshare when namespaced).
func (p *Proc) PID() int {
	p.t.Helper()
	if p.cmd.Args[0] != "unshare" {
		return p.cmd.Process.Pid
	}
	var pid int
	Eventually(p.t, 10*time.Second, "xinit-go to start inside the namespace", func() bool {
		for _, c := range ChildrenOf(p.cmd.Process.Pid) {
			pid = c
			return true
		}
		return false
	})
	return pid
}

// Signal sends sig to xinit-go.
func (p *Proc) Signal(sig syscall.Signal) {
	p.t.Helper()
	if err := syscall.Kill(p.PID(), sig); err != nil {
		p.t.Fatal(err)
	}
}

// Wait waits for xinit-go to exit and returns its exit code.
func (p *Proc) Wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(timeout):
		p.t.Fatalf("xinit-go did not exit within %s\nstderr:\n%s", timeout, p.Stderr.String())
		return -1
	}
}

// Exited reports whether xinit-go has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ProcInfo is what /proc/PID/stat says of a process.
type ProcInfo = procfs.Stat

// Procs lists every process this PID namespace can see.
func Procs() []ProcInfo {
	pids, _ := procfs.Default.PIDs()
	out := make([]ProcInfo, 0, len(pids))
	for _, pid := range pids {
		if st, err := procfs.Default.Stat(pid); err == nil {
			out = append(out, st)
		}
	}
	return out
}

// ChildrenOf lists the processes whose parent is pid.
func ChildrenOf(pid int) []int {
	var out []int
	for _, p := range Procs() {
		if p.PPID == pid {
			out = append(out, p.PID)
		}
	}
	return out
}

// ProcsWithArg lists the live processes whose command line holds arg.
func ProcsWithArg(arg string) []int {
	var out []int
	pids, _ := procfs.Default.PIDs()
	for _, c := range pids {
		if c == os.Getpid() {
			continue
		}
		args, err := procfs.Default.Cmdline(c)
		if err != nil || len(args) == 0 {
			continue
		}
		for _, a := range args {
			if a == arg {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// Eventually polls cond until it holds or the deadline passes; the one place
// tests wait for something.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var displaySeq atomic.Int32

// reserve claims a number of kind (a display, a port) among all the test
// processes on the machine until the test ends: an abstract Unix socket bound
// to its name, which the kernel gives to one socket at a time and frees when
// it is closed or its process dies, leaving no file behind. The packages'
// test binaries run at once, and each of them only knows what it has handed
// out itself.
func reserve(t testing.TB, kind string, n int) bool {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: fmt.Sprintf("@xinit-go-test/%s/%d", kind, n), Net: "unixgram"})
	if err != nil {
		return false
	}
	t.Cleanup(func() { c.Close() })
	return true
}

// FreeDisplay returns a display number that no lock file claims and no other
// test process has, spread by pid so test processes running at once seldom
// try the same ones.
func FreeDisplay(t testing.TB) int {
	t.Helper()
	base := 200 + (os.Getpid()%300)*20
	for i := 0; i < 2000; i++ {
		n := base + int(displaySeq.Add(1))
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); errors.Is(err, os.ErrNotExist) {
				if !reserve(t, "display", n) {
					continue
				}
				// After the reservation's release in the cleanups' order (last
				// in, first out): the stale files go while it is still held.
				t.Cleanup(func() { removeStaleDisplay(n) })
				return n
			}
		}
	}
	t.Fatal("no free display")
	return 0
}

// FreePort returns a TCP port that was free a moment ago and that neither this
// test process nor another one running has handed out. The kernel may answer
// two binds to port 0 in a row with the same port once the first is closed,
// so a test that asks for two ports (VNC and health) would otherwise get one
// twice now and then.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		portsMu.Lock()
		seen := portsGiven[port]
		portsGiven[port] = true
		portsMu.Unlock()
		if !seen && reserve(t, "port", port) {
			return port
		}
	}
	t.Fatal("no TCP port that this process has not handed out already")
	return 0
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// Context is a context that ends with the test or after timeout.
func Context(t testing.TB, timeout time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}
