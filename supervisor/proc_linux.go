package supervisor

import (
	"errors"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/xinit-go/xinit-go/internal/procfs"
)

// reaped is one exit status taken by wait4.
type reaped struct {
	pid    int
	status ExitStatus
}

// reapAll takes every exit status that is ready now, without blocking.
func reapAll(out []reaped) []reaped {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return out
		}
		if ws.Stopped() || ws.Continued() {
			continue
		}
		out = append(out, reaped{pid, ExitStatus{ws}})
	}
}

// becomeSubreaper makes orphaned descendants come to us when we are not PID 1.
func becomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// killGroup signals a whole process group; a group that is gone is not an error.
func killGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return nil
	}
	err := syscall.Kill(-pgid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// dying reports a process that has exited or is exiting but not yet been reaped.
func dying(pid int) bool {
	st, err := procfs.Default.Stat(pid)
	return err != nil || st.Dying()
}

// children lists the live processes whose parent is pid.
func children(pid int) []int {
	kids, _ := procfs.Default.Children(pid)
	return kids
}

// sweep kills and reaps every descendant that is left, so nothing outlives us.
// As PID 1 a single kill(-1) reaches everything in the namespace; as a subreaper
// we kill our children and reap them; their own children come to us, and the loop
// goes on until wait4 says there are none. It gives up at deadline and returns how
// many children are still there (stuck in the kernel).
func sweep(pid1 bool, deadline time.Time, onReap func(reaped)) (left int) {
	self := os.Getpid()
	for {
		if pid1 {
			// Reaches every process of the namespace: no need to read /proc
			// for our children (0.5 to 1 ms of the stop with a dozen threads).
			_ = syscall.Kill(-1, syscall.SIGKILL)
		} else {
			for _, c := range children(self) {
				_ = syscall.Kill(c, syscall.SIGKILL)
			}
		}
		for _, r := range reapAll(nil) {
			onReap(r)
		}
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.ECHILD) {
			return 0
		}
		if pid > 0 {
			onReap(reaped{pid, ExitStatus{ws}})
			continue
		}
		if time.Now().After(deadline) {
			return len(children(self))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sysProcAttr runs each service in a process group of its own. The main service,
// when it reads our terminal, gets the terminal's foreground (as tini does): else an
// interactive app (docker run -it) is stopped by SIGTTIN at its first read, and
// Ctrl-C reaches it as it would without an init. The child makes itself the
// foreground with its signals blocked, so it needs no SIGTTOU disposition of ours.
func (o *osProcs) sysProcAttr(sp *Spec) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Credential: sp.Credential}
	if o.tty && sp.Role == Main && sp.Stdin {
		a.Foreground = true
		a.Ctty = 0
	}
	return a
}

// foregroundTTY reports whether stdin is a terminal whose foreground process group
// is ours.
func foregroundTTY() bool {
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err != nil {
		return false
	}
	pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil && pgrp == syscall.Getpgrp()
}

// takeTerminal makes our process group the terminal's foreground again. A
// background group that sets the foreground gets SIGTTOU unless the signal is
// blocked or ignored; ignoring it would be inherited by every child across exec
// (SIG_IGN survives exec), so it is blocked on this thread for the one call.
func takeTerminal() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var set, old unix.Sigset_t
	sigaddset(&set, unix.SIGTTOU)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old); err != nil {
		return
	}
	_ = unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, syscall.Getpgrp())
	_ = unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
}

func sigaddset(set *unix.Sigset_t, sig syscall.Signal) {
	n := uint(sig) - 1
	w := uint(unsafe.Sizeof(set.Val[0])) * 8
	set.Val[n/w] |= 1 << (n % w)
}
