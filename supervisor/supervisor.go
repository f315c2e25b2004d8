package supervisor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Options configure a Supervisor.
type Options struct {
	Logger *zap.Logger
	// Forward lists the signals passed on to the Main service's process group.
	Forward []syscall.Signal
	// StopGrace is the grace of services whose Spec sets none. The whole stop takes
	// at most StopGrace plus StopSlack, however many services there are.
	StopGrace time.Duration
	// BeforeFinish runs once when the set is about to stop (the main service ended
	// or timed out, a required service failed, or a stop was asked for), before any
	// service is stopped. Its context expires after FinishTimeout.
	BeforeFinish func(ctx context.Context, reason string)
}

// Defaults for Options.
const (
	DefaultStopGrace = 5 * time.Second
	// StopSlack is what the services after the first get beyond StopGrace in total.
	StopSlack     = 2 * time.Second
	FinishTimeout = 5 * time.Second
	// abandonAfter is how long a process may take to die after SIGKILL (a task stuck
	// in the kernel) before the stop goes on without it.
	abandonAfter = 5 * time.Second
)

// DefaultForward is the list of signals forwarded to the main service by default.
var DefaultForward = []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGQUIT}

// State is where a service is in its life.
type State string

// The states of a service.
const (
	Pending  State = "pending"  // waiting for the services it comes after
	Starting State = "starting" // running, not ready yet
	Ready    State = "ready"    // running and ready
	Backoff  State = "backoff"  // exited, waiting to restart
	Stopping State = "stopping" // stop signal sent
	Stopped  State = "stopped"  // stopped by us
	Failed   State = "failed"   // ended for good on its own
)

func (s State) running() bool { return s == Starting || s == Ready || s == Stopping }

// Supervisor runs a set of services. Make one with New and call Run once.
type Supervisor struct {
	log  *zap.Logger
	opts Options

	svcs    []*service // in dependency order
	byName  map[string]*service
	byPid   map[int]*service
	main    *service
	readyCh chan readyResult
	done    chan struct{}
	wg      sync.WaitGroup // readiness probes and output pumps
	ctx     context.Context

	pid1         bool
	tty          bool // our stdin is a terminal whose foreground group is ours
	stopping     bool
	stopDeadline time.Time
	code         int
	codeFromMain bool // a main exit during the stop still sets the code
	reason       string
	orphans      atomic.Int64
	started      time.Time

	status atomic.Pointer[Status]
}

type service struct {
	spec       Spec
	log        *zap.Logger
	deps       []*service
	dependents []*service
	tracker    *tracker

	state         State
	depStop       bool // stopping because a service it comes after went away
	pid           int
	gen           int
	started       time.Time
	firstStart    time.Time
	readyAt       time.Time
	readyAfter    time.Duration
	readyDeadline time.Time
	until         time.Time // end of backoff
	killAt        time.Time
	killed        time.Time
	cause         error // why we killed it, when we did
	cancelProbe   context.CancelFunc
	restarts      int
	last          *ExitStatus
	lastReason    string
}

type readyResult struct {
	svc *service
	gen int
	err error
}

// New checks the specs and makes a Supervisor for them.
func New(specs []Spec, opts Options) (*Supervisor, error) {
	if err := Validate(specs); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = DefaultStopGrace
	}
	if opts.Forward == nil {
		opts.Forward = DefaultForward
	}
	idx, _ := order(specs)
	s := &Supervisor{
		log:     opts.Logger.Named("supervisor"),
		opts:    opts,
		byName:  map[string]*service{},
		byPid:   map[int]*service{},
		readyCh: make(chan readyResult),
		done:    make(chan struct{}),
	}
	for _, i := range idx {
		sp := specs[i]
		if sp.StopGrace <= 0 {
			sp.StopGrace = opts.StopGrace
		}
		if sp.StopSignal == 0 {
			sp.StopSignal = syscall.SIGTERM
		}
		sv := &service{
			spec:    sp,
			log:     s.log.With(zap.String("service", sp.Name)),
			tracker: newTracker(sp.Restart),
			state:   Pending,
		}
		s.svcs = append(s.svcs, sv)
		s.byName[sp.Name] = sv
		if sp.Role == Main {
			s.main = sv
		}
	}
	for _, sv := range s.svcs {
		for _, a := range sv.spec.After {
			d := s.byName[a]
			sv.deps = append(sv.deps, d)
			d.dependents = append(d.dependents, sv)
		}
	}
	s.publish()
	return s, nil
}

// Run starts the services and supervises them until the set stops: the main
// service ended (and is not restarted), a required service failed for good, a
// SIGTERM or SIGINT arrived, or ctx was cancelled. It returns the exit code.
// Every descendant is gone when it returns.
func (s *Supervisor) Run(ctx context.Context) int {
	sigs := make(chan os.Signal, 128)
	watch := []os.Signal{syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT}
	for _, f := range s.opts.Forward {
		watch = append(watch, f)
	}
	signal.Notify(sigs, watch...)
	defer signal.Stop(sigs)

	s.pid1 = os.Getpid() == 1
	s.tty = foregroundTTY()
	if s.tty {
		// We hand the terminal to the app and take it back: neither may stop us.
		signal.Ignore(syscall.SIGTTOU, syscall.SIGTTIN)
		defer signal.Reset(syscall.SIGTTOU, syscall.SIGTTIN)
	}
	if !s.pid1 {
		if err := becomeSubreaper(); err != nil {
			s.log.Warn("cannot become a child subreaper; orphans of services may not be reaped", zap.Error(err))
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.ctx = runCtx
	s.started = time.Now()
	s.log.Info("supervisor running", zap.Int("pid", os.Getpid()), zap.Bool("pid1", s.pid1), zap.Int("services", len(s.svcs)))

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	ctxDone := ctx.Done()
	for {
		s.reconcile(time.Now())
		s.publish()
		if s.stopping && s.allDown() {
			break
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		if d, ok := s.nextDeadline(time.Now()); ok {
			timer.Reset(max(d, 0))
		}
		select {
		case sig := <-sigs:
			s.onSignal(sig.(syscall.Signal), time.Now())
			// Take every signal already queued before the next reconcile: a burst of
			// exits costs one pass, not one per SIGCHLD.
			for n := len(sigs); n > 0; n-- {
				s.onSignal((<-sigs).(syscall.Signal), time.Now())
			}
		case r := <-s.readyCh:
			s.onReady(r, time.Now())
		case <-timer.C:
		case <-ctxDone:
			ctxDone = nil
			s.requestStop(time.Now(), "stop requested", 128+int(syscall.SIGTERM))
		}
	}
	close(s.done)
	cancel()
	left := sweep(s.pid1, abandonAfter, func(r reaped) {
		if sv := s.byPid[r.pid]; sv != nil {
			delete(s.byPid, r.pid)
			sv.pid = 0
		} else {
			s.orphans.Add(1)
		}
	})
	if left > 0 {
		s.log.Error("descendants still alive after SIGKILL; they are stuck in the kernel", zap.Int("count", left))
	}
	s.wg.Wait()
	s.publish()
	s.log.Info("supervisor finished", zap.Int("exit_code", s.code), zap.String("reason", s.reason),
		zap.Int64("orphans_reaped", s.orphans.Load()))
	return s.code
}

func (s *Supervisor) reconcile(now time.Time) {
	if !s.stopping && s.main != nil && s.main.spec.Timeout > 0 && !s.main.firstStart.IsZero() &&
		!now.Before(s.main.firstStart.Add(s.main.spec.Timeout)) {
		s.finish(now, 124, fmt.Sprintf("%s outlived its timeout of %s", s.main.spec.Name, s.main.spec.Timeout))
	}
	if !s.stopping {
		for _, sv := range s.svcs {
			switch sv.state {
			case Pending:
				if s.depsReady(sv) {
					s.start(sv, now)
				}
			case Backoff:
				if !now.Before(sv.until) && s.depsReady(sv) {
					s.start(sv, now)
				}
			case Starting:
				if !sv.readyDeadline.IsZero() && !now.Before(sv.readyDeadline) && sv.cause == nil {
					sv.cause = fmt.Errorf("not ready after %s", sv.spec.ReadyTimeout)
					s.kill(sv, now)
				}
			}
			if s.stopping {
				break
			}
		}
	}
	if s.stopping {
		for i := len(s.svcs) - 1; i >= 0; i-- {
			sv := s.svcs[i]
			switch sv.state {
			case Pending, Backoff:
				sv.state = Stopped
			case Starting, Ready:
				if s.dependentsDown(sv) {
					s.sendStop(sv, now)
				}
			}
		}
	}
	for _, sv := range s.svcs {
		if sv.state != Stopping {
			continue
		}
		if sv.killed.IsZero() && !now.Before(sv.killAt) {
			sv.log.Warn("grace over; killing the process group", zap.Int("pid", sv.pid), zap.Duration("grace", sv.spec.StopGrace))
			s.kill(sv, now)
		} else if !sv.killed.IsZero() && !now.Before(sv.killed.Add(abandonAfter)) {
			sv.log.Error("process does not die after SIGKILL; going on without it", zap.Int("pid", sv.pid))
			s.ended(sv, now, nil, errors.New("abandoned after SIGKILL"))
		}
	}
}

func (s *Supervisor) nextDeadline(now time.Time) (time.Duration, bool) {
	var next time.Time
	add := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, sv := range s.svcs {
		switch sv.state {
		case Backoff:
			add(sv.until)
		case Starting:
			add(sv.readyDeadline)
		case Stopping:
			if sv.killed.IsZero() {
				add(sv.killAt)
			} else {
				add(sv.killed.Add(abandonAfter))
			}
		}
	}
	if m := s.main; m != nil && m.spec.Timeout > 0 && !m.firstStart.IsZero() && !s.stopping {
		add(m.firstStart.Add(m.spec.Timeout))
	}
	if next.IsZero() {
		return 0, false
	}
	return next.Sub(now), true
}

func (s *Supervisor) depsReady(sv *service) bool {
	for _, d := range sv.deps {
		if d.state != Ready {
			return false
		}
	}
	return true
}

func (s *Supervisor) dependentsDown(sv *service) bool {
	for _, d := range sv.dependents {
		if d.state.running() {
			return false
		}
	}
	return true
}

func (s *Supervisor) allDown() bool {
	for _, sv := range s.svcs {
		if sv.state.running() {
			return false
		}
	}
	return true
}

func (s *Supervisor) start(sv *service, now time.Time) {
	sv.gen++
	sv.cause = nil
	sv.depStop = false
	attempt := sv.restarts + 1
	if sv.spec.PreStart != nil {
		if err := sv.spec.PreStart(s.ctx); err != nil {
			s.ended(sv, now, nil, err)
			return
		}
	}
	var probe *Probe
	if sv.spec.Ready != nil {
		p, err := sv.spec.Ready()
		if err != nil {
			s.ended(sv, now, nil, fmt.Errorf("prepare readiness check: %w", err))
			return
		}
		probe = p
	}
	pid, err := s.spawn(sv, probe)
	if err != nil {
		if probe != nil && probe.Close != nil {
			probe.Close()
		}
		s.ended(sv, now, nil, err)
		return
	}
	sv.pid = pid
	s.byPid[pid] = sv
	sv.started = now
	if sv.firstStart.IsZero() {
		sv.firstStart = now
	}
	sv.log.Info("started", zap.Int("pid", pid), zap.Int("attempt", attempt), zap.Strings("argv", sv.spec.Argv))
	if probe == nil || probe.Wait == nil {
		if probe != nil && probe.Close != nil {
			probe.Close()
		}
		s.markReady(sv, now)
		return
	}
	sv.state = Starting
	sv.readyDeadline = time.Time{}
	if sv.spec.ReadyTimeout > 0 {
		sv.readyDeadline = now.Add(sv.spec.ReadyTimeout)
	}
	pctx, cancel := context.WithCancel(s.ctx)
	sv.cancelProbe = cancel
	gen := sv.gen
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := probe.Wait(pctx)
		if probe.Close != nil {
			probe.Close()
		}
		select {
		case s.readyCh <- readyResult{sv, gen, err}:
		case <-s.done:
		}
	}()
}

func (s *Supervisor) markReady(sv *service, now time.Time) {
	sv.state = Ready
	sv.readyAt = now
	sv.readyAfter = now.Sub(sv.started)
	sv.log.Info("ready", zap.Int("pid", sv.pid), zap.Duration("after", sv.readyAfter))
}

// spawn forks and execs the service in a new process group.
func (s *Supervisor) spawn(sv *service, probe *Probe) (int, error) {
	sp := sv.spec
	path, err := lookPath(sp.Argv[0], sp.Env)
	if err != nil {
		return 0, err
	}
	var stdin *os.File = os.Stdin
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
	files := []*os.File{stdin, stdout, stderr}
	if probe != nil {
		files = append(files, probe.Files...)
	}
	fds := make([]uintptr, len(files))
	for i, f := range files {
		fds[i] = f.Fd()
	}
	pid, err := syscall.ForkExec(path, sp.Argv, &syscall.ProcAttr{
		Dir:   sp.Dir,
		Env:   sp.Env,
		Files: fds,
		Sys:   s.sysProcAttr(sp),
	})
	runtime.KeepAlive(files)
	if probe != nil {
		for _, f := range probe.Files {
			f.Close()
		}
	}
	if err != nil {
		if pr != nil {
			pr.Close()
		}
		return 0, &startError{path: path, err: err}
	}
	if pr != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			pump(pr, sp.Output)
		}()
	}
	return pid, nil
}

// startError is a failed exec; its code follows the shell's: 127 not found, 126 not executable.
type startError struct {
	path string
	err  error
}

func (e *startError) Error() string { return fmt.Sprintf("start %s: %v", e.path, e.err) }
func (e *startError) Unwrap() error { return e.err }

func (e *startError) code() int {
	if errors.Is(e.err, syscall.ENOENT) {
		return 127
	}
	return 126
}

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

// pump turns a service's output into lines; it ends when every writer has closed.
func pump(r *os.File, out func(string)) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		if line := strings.TrimRight(sc.Text(), "\r"); line != "" {
			out(line)
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

func (s *Supervisor) onReady(r readyResult, now time.Time) {
	sv := r.svc
	if r.gen != sv.gen || sv.state != Starting {
		return
	}
	sv.cancelProbe()
	if r.err == nil {
		s.markReady(sv, now)
		return
	}
	if sv.cause == nil {
		sv.cause = r.err
	}
	s.kill(sv, now)
}

func (s *Supervisor) onSignal(sig syscall.Signal, now time.Time) {
	switch sig {
	case syscall.SIGCHLD:
		s.reap(now)
	case syscall.SIGTERM, syscall.SIGINT:
		if !s.stopping {
			s.log.Info("signal received; stopping", zap.String("signal", unix.SignalName(sig)))
			s.requestStop(now, "received "+unix.SignalName(sig), 128+int(sig))
			return
		}
		s.log.Warn("second stop signal; killing every service now", zap.String("signal", unix.SignalName(sig)))
		for _, sv := range s.svcs {
			if sv.state.running() && sv.killed.IsZero() {
				if sv.state != Stopping {
					sv.state = Stopping
				}
				s.kill(sv, now)
			}
		}
	default:
		m := s.main
		if m == nil || !m.state.running() {
			s.log.Info("signal not forwarded: the app is not running", zap.String("signal", unix.SignalName(sig)))
			return
		}
		s.log.Debug("forwarding signal", zap.String("signal", unix.SignalName(sig)), zap.Int("pgid", m.pid))
		if err := killGroup(m.pid, sig); err != nil {
			m.log.Warn("forward signal", zap.Error(err))
		}
	}
}

// reap takes every status wait4 has and routes it, dependencies first, so that a
// service whose dependency died in the same moment is seen as collateral.
func (s *Supervisor) reap(now time.Time) {
	batch := reapAll(nil)
	pos := func(r reaped) int {
		if sv := s.byPid[r.pid]; sv != nil {
			return slices.Index(s.svcs, sv)
		}
		return len(s.svcs)
	}
	slices.SortStableFunc(batch, func(a, b reaped) int { return pos(a) - pos(b) })
	for _, r := range batch {
		sv := s.byPid[r.pid]
		if sv == nil {
			s.orphans.Add(1)
			continue
		}
		delete(s.byPid, r.pid)
		if sv.spec.Exited != nil {
			sv.spec.Exited(r.pid)
		}
		st := r.status
		if sv.spec.Role == Main && s.tty {
			takeTerminal()
		}
		// ended may take the screenshot: what the leader left drawing is still up.
		s.ended(sv, now, &st, nil)
		// The group lives and dies with its leader.
		_ = killGroup(r.pid, syscall.SIGKILL)
	}
}

// ended handles the end of a service's run: an exit, or a start that failed.
func (s *Supervisor) ended(sv *service, now time.Time, st *ExitStatus, cause error) {
	if sv.cancelProbe != nil {
		sv.cancelProbe()
		sv.cancelProbe = nil
	}
	if sv.pid != 0 {
		delete(s.byPid, sv.pid)
	}
	pid := sv.pid
	sv.pid = 0
	if cause == nil {
		cause = sv.cause
	}
	sv.cause = nil
	if st != nil {
		sv.last = st
	}
	reason := ""
	switch {
	case cause != nil && st != nil:
		reason = fmt.Sprintf("%v (%s)", cause, st)
	case cause != nil:
		reason = cause.Error()
	case st != nil:
		reason = st.String()
	}
	sv.lastReason = reason
	fields := []zap.Field{zap.Int("pid", pid), zap.String("reason", reason)}
	if st != nil {
		fields = append(fields, zap.Int("exit_code", st.Code()))
	}

	if s.stopping || (sv.state == Stopping && sv.depStop) {
		if s.stopping {
			sv.state = Stopped
			sv.log.Info("stopped", fields...)
			if sv == s.main && s.codeFromMain {
				s.codeFromMain = false
				switch {
				case st != nil:
					s.code = st.Code()
				case cause != nil:
					s.code = 70
				}
			}
		} else {
			sv.state = Pending
			sv.depStop = false
			sv.log.Info("stopped to follow a restart of a service it comes after", fields...)
		}
		return
	}

	sv.log.Warn("exited", fields...)
	s.stopDependents(sv, now)
	if sv.spec.Role == Main && st != nil && s.depDying(sv) {
		sv.state = Pending
		sv.log.Info("a service it comes after went away at the same moment; it starts again after it")
		return
	}
	restart := false
	switch {
	case IsPermanent(cause):
	case cause != nil:
		var se *startError
		restart = sv.spec.Restart.Policy != Never && !(sv.spec.Role == Main && errors.As(cause, &se))
	case st != nil:
		restart = sv.spec.Restart.wants(*st)
	}
	if restart {
		delay, ok := sv.tracker.next(now, now.Sub(sv.started))
		if ok {
			sv.restarts++
			sv.state = Backoff
			sv.until = now.Add(delay)
			sv.log.Info("restarting", zap.Duration("backoff", delay), zap.Int("restarts", sv.restarts))
			return
		}
		r := sv.tracker.r
		reason = fmt.Sprintf("%s; restart budget spent (%d restarts within %s)", reason, r.Budget, r.Window)
		sv.lastReason = reason
	}
	sv.state = Failed
	switch sv.spec.Role {
	case Main:
		code := 70
		var se *startError
		switch {
		case st != nil:
			code = st.Code()
		case errors.As(cause, &se):
			code = se.code()
		}
		s.finish(now, code, fmt.Sprintf("%s ended: %s", sv.spec.Name, reason))
	case Required:
		s.finish(now, 70, fmt.Sprintf("required service %s failed: %s", sv.spec.Name, reason))
	default:
		sv.log.Error("optional service failed for good", zap.String("reason", reason))
	}
}

// depDying reports whether a service sv comes after is gone or going: its exit may
// not have been reaped yet when sv's own exit (caused by it) is.
func (s *Supervisor) depDying(sv *service) bool {
	for _, d := range sv.deps {
		if d.state != Ready || (d.pid != 0 && dying(d.pid)) {
			return true
		}
	}
	return false
}

// stopDependents stops every running service that comes after sv, directly or not;
// they start again once sv is ready.
func (s *Supervisor) stopDependents(sv *service, now time.Time) {
	for _, d := range sv.dependents {
		switch d.state {
		case Starting, Ready:
			d.depStop = true
			s.sendStop(d, now)
		case Backoff:
			d.state = Pending
		}
		s.stopDependents(d, now)
	}
}

func (s *Supervisor) sendStop(sv *service, now time.Time) {
	if sv.cancelProbe != nil {
		sv.cancelProbe()
	}
	sv.state = Stopping
	sv.killAt = now.Add(sv.spec.StopGrace)
	if s.stopping && s.stopDeadline.Before(sv.killAt) {
		sv.killAt = s.stopDeadline
	}
	sv.killed = time.Time{}
	sv.log.Info("stopping", zap.Int("pid", sv.pid), zap.String("signal", unix.SignalName(sv.spec.StopSignal)))
	if err := killGroup(sv.pid, sv.spec.StopSignal); err != nil {
		sv.log.Warn("stop signal", zap.Error(err))
	}
}

func (s *Supervisor) kill(sv *service, now time.Time) {
	sv.killed = now
	if err := killGroup(sv.pid, syscall.SIGKILL); err != nil {
		sv.log.Warn("kill", zap.Error(err))
	}
}

// finish starts the stop of the whole set with a final exit code.
func (s *Supervisor) finish(now time.Time, code int, reason string) {
	if s.stopping {
		return
	}
	s.log.Info("finishing", zap.Int("exit_code", code), zap.String("reason", reason))
	if s.opts.BeforeFinish != nil {
		ctx, cancel := context.WithTimeout(s.ctx, FinishTimeout)
		s.opts.BeforeFinish(ctx, reason)
		cancel()
		now = time.Now()
	}
	s.beginStop(now, code, reason, false)
}

func (s *Supervisor) requestStop(now time.Time, reason string, code int) {
	if s.stopping {
		return
	}
	if s.opts.BeforeFinish != nil {
		ctx, cancel := context.WithTimeout(s.ctx, FinishTimeout)
		s.opts.BeforeFinish(ctx, reason)
		cancel()
		now = time.Now()
	}
	s.beginStop(now, code, reason, true)
}

func (s *Supervisor) beginStop(now time.Time, code int, reason string, fromMain bool) {
	s.stopping = true
	s.code = code
	s.codeFromMain = fromMain && s.main != nil && s.main.state.running()
	s.reason = reason
	s.stopDeadline = now.Add(s.opts.StopGrace + StopSlack)
	for _, sv := range s.svcs {
		if sv.state == Stopping && sv.killAt.After(s.stopDeadline) {
			sv.killAt = s.stopDeadline
		}
	}
}
