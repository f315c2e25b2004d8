package supervisor

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// ExitStatus is how a process ended, as wait4 reported it.
type ExitStatus struct {
	ws syscall.WaitStatus
}

// Exited is a status for a normal exit with code; for tests and callers that
// need to build one.
func Exited(code int) ExitStatus { return ExitStatus{syscall.WaitStatus(code&0xff) << 8} }

// Signaled is a status for a death by signal.
func Signaled(sig syscall.Signal) ExitStatus { return ExitStatus{syscall.WaitStatus(sig)} }

// Success reports a normal exit with code 0.
func (s ExitStatus) Success() bool { return s.ws.Exited() && s.ws.ExitStatus() == 0 }

// Signal is the signal that killed the process, or 0.
func (s ExitStatus) Signal() syscall.Signal {
	if s.ws.Signaled() {
		return s.ws.Signal()
	}
	return 0
}

// Code is the exit code a shell would report: the process's own, or 128+N when
// signal N killed it.
func (s ExitStatus) Code() int {
	if s.ws.Signaled() {
		return 128 + int(s.ws.Signal())
	}
	return s.ws.ExitStatus()
}

func (s ExitStatus) String() string {
	if s.ws.Signaled() {
		return fmt.Sprintf("killed by %s", unix.SignalName(s.ws.Signal()))
	}
	return fmt.Sprintf("exit code %d", s.ws.ExitStatus())
}
