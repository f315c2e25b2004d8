package xserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/xinit-go/xinit-go/internal/linebuf"
	"github.com/xinit-go/xinit-go/internal/procfs"
	"github.com/xinit-go/xinit-go/supervisor"
	"github.com/xinit-go/xinit-go/xscreen"
)

// lockDir and socketDir are where X servers keep their lock files and sockets;
// X servers hard-code them.
const (
	lockDir   = "/tmp"
	socketDir = xscreen.SocketDir
)

// outputErrors are the lines of an X server's output that report errors.
func outputErrors(out *linebuf.Ring) []string {
	var errs []string
	for _, l := range out.Lines() {
		if strings.Contains(l, "(EE)") || strings.Contains(strings.ToLower(l), "fatal") || strings.Contains(l, "error") {
			errs = append(errs, l)
		}
	}
	return errs
}

// displayFDProbe is ready when the X server writes its display number on fd 3.
// On end of file it reports the X server's errors, read by errs.
func displayFDProbe(display int, errs func() []string, after func(ctx context.Context) error) supervisor.Readiness {
	return func() (*supervisor.Probe, error) {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		return &supervisor.Probe{
			Files: []*os.File{w},
			Wait: func(ctx context.Context) error {
				stop := context.AfterFunc(ctx, func() { r.Close() })
				defer stop()
				line, err := bufio.NewReader(r).ReadString('\n')
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if err != nil {
					msg := "the X server exited before it was ready"
					if e := errs(); len(e) > 0 {
						msg += ": " + strings.Join(e, " | ")
					}
					return errors.New(msg)
				}
				n, err := strconv.Atoi(strings.TrimSpace(line))
				if err != nil || n != display {
					return fmt.Errorf("the X server reported display %q, want %d", strings.TrimSpace(line), display)
				}
				if after != nil {
					return after(ctx)
				}
				return nil
			},
			Close: func() { r.Close() },
		}, nil
	}
}

// xorgLogErrors returns the (EE) lines of an Xorg log, without the harmless ones.
func xorgLogErrors(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, "(EE)") || strings.Contains(l, "(WW) warning, (EE) error") || strings.Contains(l, "dbus") {
			continue
		}
		if l = strings.TrimSpace(l); l != "(EE)" {
			out = append(out, l)
		}
	}
	if len(out) > 12 {
		out = out[len(out)-12:]
	}
	return out
}

// clearStaleLock removes /tmp/.X<n>-lock and the display's socket when the lock's
// process is dead (a restarted container, or a killed server). A live holder is a
// permanent error that names it; so is a socket that answers, lock or no lock.
func clearStaleLock(lockDir, sockDir string, display int) error {
	lock := filepath.Join(lockDir, fmt.Sprintf(".X%d-lock", display))
	sock := filepath.Join(sockDir, fmt.Sprintf("X%d", display))
	b, err := os.ReadFile(lock)
	if err == nil {
		pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		if perr == nil && pid > 0 && pid != os.Getpid() {
			if comm, alive := liveProcess(pid); alive && isXServer(comm) {
				return supervisor.Permanent(fmt.Errorf("display :%d is in use: %s names live process %d (%s); stop it or choose another display, e.g. XINIT_DISPLAY=:%d",
					display, lock, pid, comm, display+1))
			}
		}
		// The holder may live in another PID namespace, where its pid means nothing
		// here: a server that still answers on the display's socket is alive.
		if socketAnswers(sock, display) {
			return supervisor.Permanent(fmt.Errorf("display :%d is in use: an X server answers on its socket (lock %s names pid %s, not visible from here); choose another display, e.g. XINIT_DISPLAY=:%d",
				display, lock, strings.TrimSpace(string(b)), display+1))
		}
		if err := os.Remove(lock); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale lock %s: %w", lock, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read lock %s: %w", lock, err)
	} else if socketAnswers(sock, display) {
		// No lock here, but the socket directory may be shared with a server
		// whose lock is not (a sidecar container): never take a live socket.
		return supervisor.Permanent(fmt.Errorf("display :%d is in use: an X server answers on its socket %s, though no lock file %s is visible (another container's X server?); choose another display, e.g. XINIT_DISPLAY=:%d",
			display, sock, lock, display+1))
	}
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", sock, err)
	}
	if err := os.MkdirAll(sockDir, 0o1777); err == nil {
		stickySocketDir(sockDir)
	}
	return nil
}

// stickySocketDir gives the socket directory mode 1777, as X servers expect,
// through a descriptor opened without following links, and only when it is a
// directory of root's: /tmp is everyone's, and a link planted at its name must
// not make root chmod the link's target.
func stickySocketDir(dir string) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil && int(st.Uid) == os.Geteuid() {
		_ = unix.Fchmod(fd, 0o1777)
	}
}

// socketAnswers reports whether something accepts connections on the display's
// socket, by path or in the abstract namespace.
func socketAnswers(path string, display int) bool {
	for _, addr := range []string{path, fmt.Sprintf("@/tmp/.X11-unix/X%d", display)} {
		c, err := net.DialTimeout("unix", addr, 500*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
	}
	return false
}

// liveProcess reports whether pid exists (and is not a zombie) and its command name.
func liveProcess(pid int) (string, bool) {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return "", false
	}
	st, err := procfs.Default.Stat(pid)
	if err != nil {
		return "", true
	}
	if st.State == 'Z' {
		return "", false
	}
	return st.Comm, true
}

// isXServer tells a live X server from an unrelated process that reuses the pid
// of a server that died (a container restarted with a fresh PID namespace).
func isXServer(comm string) bool {
	return comm == "" || strings.HasPrefix(comm, "X") || strings.Contains(comm, "vnc")
}

// Options are what the X server's spec needs of the session.
type Options struct {
	// Display is the display's number, and the cookie xinit-go connects with
	// to check the screen's size once the server is ready.
	Display xscreen.Display
	// XorgConf and XorgLog run Xorg with that configuration and log file; ""
	// runs Xvfb with one screen of Resolution (WIDTHxHEIGHTxDEPTH).
	XorgConf, XorgLog string
	Resolution        string
	// Width and Height are the screen size asked for: a server that comes up
	// at another is a permanent error.
	Width, Height int
	Authority     string   // the X authority file (-auth)
	Args          []string // XINIT_X_ARGS, appended as they are
	Log           *zap.Logger
}

// Spec is the X server as a service: its command line, the stale lock cleared
// before each start, readiness when it writes its display number on fd 3 and
// its screen has the size asked for, and its output logged and kept for the
// errors a failed start reports. The caller names it and gives its
// environment, role, restarts and readiness timeout.
func Spec(o Options) supervisor.Spec {
	out := linebuf.New(200)
	errsOf := func() []string { return outputErrors(out) }
	name := fmt.Sprintf(":%d", o.Display.Num)
	var argv []string
	if o.XorgConf == "" {
		argv = []string{"Xvfb", name, "-screen", "0", o.Resolution,
			"+extension", "GLX", "+extension", "RANDR"}
	} else {
		logPath := o.XorgLog
		argv = []string{"Xorg", name, "-config", o.XorgConf, "-logfile", logPath,
			// Never take or switch a virtual terminal: there is none in a container,
			// and on a host it would steal the console.
			"-novtswitch", "-sharevts", "-keeptty"}
		errsOf = func() []string {
			if e := xorgLogErrors(logPath); len(e) > 0 {
				return e
			}
			return outputErrors(out)
		}
	}
	argv = append(argv, "-displayfd", "3", "-auth", o.Authority, "-nolisten", "tcp", "-noreset", "-s", "0", "-dpms")
	argv = append(argv, o.Args...)
	display := o.Display
	return supervisor.Spec{
		Argv: argv,
		PreStart: func(context.Context) error {
			out.Reset()
			return clearStaleLock(lockDir, socketDir, display.Num)
		},
		Ready: displayFDProbe(display.Num, errsOf, func(ctx context.Context) error {
			err := checkScreen(ctx, display, o.Width, o.Height)
			if err != nil && ctx.Err() == nil {
				return supervisor.Permanent(err)
			}
			return err
		}),
		Output: func(line string) {
			out.Add(line)
			o.Log.Info(line)
		},
	}
}
