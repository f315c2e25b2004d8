package supervisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// procs is the supervisor's seam at the OS boundary: everything the state machine
// does to processes goes through it, so the machine can be table-tested against a
// fake with no process, no signal and no sleep.
type procs interface {
	// start forks and execs a service in a process group of its own, handing it
	// the probe's files as fd 3, 4, .... It returns the pid, which is also the
	// process group's id.
	start(sp *Spec, probe *Probe) (pid int, err error)
	// signal sends sig to a whole process group; a group that is gone is not an error.
	signal(pgid int, sig syscall.Signal) error
	// reap appends every exit status that is ready now, without blocking.
	reap(into []reaped) []reaped
	// dying reports a process that has exited or is exiting but is not yet reaped.
	dying(pid int) bool
	// sweep kills and reaps every descendant left, until deadline; it returns how
	// many could not be reaped.
	sweep(pid1 bool, deadline time.Time, onReap func(reaped)) int
	// drain lets the output pumps finish, but not past deadline.
	drain(deadline time.Time)
}

// osProcs is the real seam: fork/exec, kill(2) and the program's only wait4.
type osProcs struct {
	tty bool // our stdin is a terminal whose foreground group is ours

	mu    sync.Mutex
	pipes map[*os.File]struct{} // read ends of output pumps still running
	pumps sync.WaitGroup
}

func newOSProcs() *osProcs { return &osProcs{pipes: map[*os.File]struct{}{}} }

func (o *osProcs) signal(pgid int, sig syscall.Signal) error { return killGroup(pgid, sig) }
func (o *osProcs) reap(into []reaped) []reaped               { return reapAll(into) }
func (o *osProcs) dying(pid int) bool                        { return dying(pid) }
func (o *osProcs) sweep(pid1 bool, deadline time.Time, onReap func(reaped)) int {
	return sweep(pid1, deadline, onReap)
}

func (o *osProcs) start(sp *Spec, probe *Probe) (pid int, err error) {
	var files []*os.File
	if probe != nil {
		files = probe.Files
	}
	// The probe's files belong to the child: whatever happens here, the parent's
	// copies are closed when start returns (a leaked -displayfd write end would
	// keep the X server's readiness pipe open for good).
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	path, err := lookPath(sp.Argv[0], sp.Env)
	if err != nil {
		return 0, err
	}
	stdin := os.Stdin
	if !sp.Stdin {
		devnull, err := os.Open(os.DevNull)
		if err != nil {
			return 0, err
		}
		defer devnull.Close()
		stdin = devnull
	}
	stdout, stderr := os.Stdout, os.Stderr
	var pr *os.File
	if sp.Output != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return 0, err
		}
		defer w.Close()
		pr = r
		stdout, stderr = w, w
	}
	all := append([]*os.File{stdin, stdout, stderr}, files...)
	fds := make([]uintptr, len(all))
	for i, f := range all {
		fds[i] = f.Fd() // Fd makes the descriptor blocking, as the child expects
	}
	pid, err = syscall.ForkExec(path, sp.Argv, &syscall.ProcAttr{
		Dir:   sp.Dir,
		Env:   sp.Env,
		Files: fds,
		Sys:   o.sysProcAttr(sp),
	})
	runtime.KeepAlive(all)
	if err != nil {
		if pr != nil {
			pr.Close()
		}
		return 0, &startError{path: path, err: err}
	}
	if pr != nil {
		o.mu.Lock()
		o.pipes[pr] = struct{}{}
		o.mu.Unlock()
		o.pumps.Add(1)
		go func() {
			defer o.pumps.Done()
			pump(pr, sp.Output)
			o.mu.Lock()
			delete(o.pipes, pr)
			o.mu.Unlock()
			pr.Close()
		}()
	}
	return pid, nil
}

// drain waits for the output pumps to read what the services wrote, but not past
// deadline: a process stuck in the kernel, or a grandchild that kept the pipe, can
// hold a write end open for good, and the exit must not wait for it.
func (o *osProcs) drain(deadline time.Time) {
	o.mu.Lock()
	for f := range o.pipes {
		_ = f.SetReadDeadline(deadline)
	}
	o.mu.Unlock()
	waitUntil(&o.pumps, deadline)
}

// waitUntil waits for wg, or until deadline; it reports whether wg finished.
func waitUntil(wg *sync.WaitGroup, deadline time.Time) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// startError is a failed exec; its code follows the shell's: 127 not found, 126
// found but not executable.
type startError struct {
	path string
	err  error
}

func (e *startError) Error() string { return fmt.Sprintf("start %s: %v", e.path, e.err) }
func (e *startError) Unwrap() error { return e.err }

func (e *startError) code() int {
	if errors.Is(e.err, syscall.ENOENT) {
		return ExitNotFound
	}
	return ExitCannotRun
}

// lookPath finds name in the service's own PATH, as execvp would.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &startError{path: name, err: fmt.Errorf("not found in PATH %s: %w", path, syscall.ENOENT)}
}

// maxLine is the longest line pump hands over; the rest of a longer one is
// dropped and the line marked as cut.
const maxLine = 1 << 20

// pump turns a service's output into lines; it ends when every writer has closed
// or the read deadline set by drain has passed. A line over maxLine is cut, not
// fatal: the lines after it still come.
func pump(r io.Reader, out func(string)) {
	br := bufio.NewReaderSize(r, 64*1024)
	var line []byte
	cut := false
	for {
		chunk, err := br.ReadSlice('\n')
		if room := maxLine - len(line); len(chunk) <= room {
			line = append(line, chunk...)
		} else {
			line, cut = append(line, chunk[:room]...), true
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if l := strings.TrimRight(string(line), "\r\n"); l != "" {
			if cut {
				l += " [line cut at 1 MiB]"
			}
			out(l)
		}
		if cap(line) > 64*1024 {
			line = nil // a long line's buffer is not kept
		}
		line, cut = line[:0], false
		if err != nil {
			break
		}
	}
	_, _ = io.Copy(io.Discard, r)
}
