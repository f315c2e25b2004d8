package supervisor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"syscall"
	"time"

	"github.com/xinit-go/xinit-go/exitcode"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

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
	Done     State = "done"     // a oneshot that exited 0: ready for what comes after it
)

func (s State) running() bool { return s == Starting || s == Ready || s == Stopping }

// Up is what the services after it wait for: ready, or a oneshot done.
func (s State) Up() bool { return s == Ready || s == Done }

// Exit codes the supervisor decides on its own (the app's own code, or 128+N for
// a signal, is the rest of the contract).
const (
	ExitFailed    = exitcode.Failed    // a required service failed for good, or the session failed otherwise
	ExitTimeout   = exitcode.Timeout   // the main service outlived its Timeout
	ExitCannotRun = exitcode.CannotRun // the main service's program could not be executed
	ExitNotFound  = exitcode.NotFound  // the main service's program was not found
)

var errAbandoned = errors.New("abandoned: still not reaped after SIGKILL (stuck in the kernel)")

type service struct {
	spec       Spec
	log        *zap.Logger
	deps       []*service
	dependents []*service
	tracker    *tracker

	state State
	// followDep marks a stop (or an exit) caused by a service this one comes after
	// going away: once down, this service waits in Pending to start again after it,
	// and its exit is neither a failure nor a restart of its own.
	followDep   bool
	pid         int
	gen         int // counts starts: a readiness result of an older start is stale
	started     time.Time
	firstStart  time.Time
	readyAfter  time.Duration
	readyBy     time.Time // Starting: the ready timeout
	until       time.Time // Backoff: the end of the backoff
	killAt      time.Time // Stopping: when SIGKILL follows the stop signal
	killed      time.Time // when SIGKILL was sent to this run; zero before
	dying       bool      // this run is exiting: what comes after it must wait
	cause       error     // why we killed this run, when we did
	forced      *request  // a Restart request stopped this run
	cancelProbe context.CancelFunc
	restarts    int
	last        *ExitStatus
	lastReason  string
}

// set is the one place a service changes state: it logs the change and marks
// the snapshot for publishing.
func (s *Supervisor) set(sv *service, st State, msg string, fields ...zap.Field) {
	sv.state = st
	s.dirty = true
	if msg != "" {
		sv.log.Info(msg, append(fields, zap.String("state", string(st)))...)
	}
}

// deadline is the next moment the service needs the loop's attention without an
// event, zero for none. The loop's timer and step both use it, so a deadline
// that step acts on always moves or disappears: the loop never spins on a past one.
func (s *Supervisor) deadline(sv *service) time.Time {
	switch {
	case sv.pid != 0 && !sv.killed.IsZero():
		// Killed, in any state: reaped by then, or abandoned.
		return sv.killed.Add(abandonAfter)
	case sv.state == Backoff:
		return sv.until
	case sv.state == Starting:
		return sv.readyBy
	case sv.state == Stopping:
		return sv.killAt
	}
	return time.Time{}
}

// nextDeadline is the earliest deadline of the services and of the set.
func (s *Supervisor) nextDeadline() (time.Time, bool) {
	var next time.Time
	add := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, sv := range s.svcs {
		add(s.deadline(sv))
	}
	add(s.setDeadline())
	return next, !next.IsZero()
}

// setDeadline is the set's own next deadline: the app's timeout before the stop;
// the hook's end, then the hard end of the stop budget, during it.
func (s *Supervisor) setDeadline() time.Time {
	switch {
	case !s.stop.on:
		if m := s.main; m != nil && m.spec.Timeout > 0 && !m.firstStart.IsZero() {
			return m.firstStart.Add(m.spec.Timeout)
		}
	case s.stop.hookRunning:
		return s.stop.base
	default:
		return s.stop.hard
	}
	return time.Time{}
}

// finished reports the end of the loop: stopping, and nothing runs any more.
func (s *Supervisor) finished() bool {
	if !s.stop.on || s.stop.hookRunning {
		return false
	}
	for _, sv := range s.svcs {
		if sv.state.running() {
			return false
		}
	}
	return true
}

// step brings every service one step closer to where it should be at now: the
// deadlines that passed first, then the starts (dependencies first), then, while
// stopping, the stops (dependents first). It publishes a snapshot when anything
// changed.
func (s *Supervisor) step(now time.Time) {
	if t := s.setDeadline(); !t.IsZero() && !now.Before(t) {
		switch {
		case !s.stop.on:
			m := s.main
			s.finish(now, ExitTimeout, fmt.Sprintf("%s outlived its timeout of %s", m.spec.Name, m.spec.Timeout), false)
		case s.stop.hookRunning:
			s.log.Warn("the screenshot did not finish in time; stopping without it", zap.Duration("timeout", HookTimeout))
			s.hookOver()
		default:
			s.abandonAll(now)
		}
	}
	for _, sv := range s.svcs {
		if t := s.deadline(sv); !t.IsZero() && !now.Before(t) {
			s.expire(sv, now)
		}
	}
	if !s.stop.on {
		for _, sv := range s.svcs {
			if s.stop.on {
				break // a failed start ended the set
			}
			if (sv.state == Pending || sv.state == Backoff && !now.Before(sv.until)) && s.depsReady(sv) {
				s.start(sv, now)
			}
		}
	}
	if s.stop.on && !s.stop.hookRunning {
		for i := len(s.svcs) - 1; i >= 0; i-- {
			sv := s.svcs[i]
			switch sv.state {
			case Pending, Backoff:
				s.set(sv, Stopped, "")
			case Starting, Ready:
				if s.dependentsDown(sv) {
					s.sendStop(sv, now)
				}
			}
		}
	}
	if s.dirty {
		s.publish()
		s.dirty = false
	}
}

// expire acts on a service deadline that has passed.
func (s *Supervisor) expire(sv *service, now time.Time) {
	switch {
	case sv.pid != 0 && !sv.killed.IsZero():
		sv.log.Error("process does not die after SIGKILL; going on without it", zap.Int("pid", sv.pid))
		s.ended(sv, now, nil, errAbandoned)
	case sv.state == Backoff:
		if !s.depsReady(sv) {
			// The backoff is over, but a service it needs is not ready: it waits
			// for that like any pending service.
			s.set(sv, Pending, "")
		}
	case sv.state == Starting:
		sv.cause = fmt.Errorf("not ready after %s", sv.spec.ReadyTimeout)
		s.kill(sv, now)
	case sv.state == Stopping:
		sv.log.Warn("grace over; killing the process group", zap.Int("pid", sv.pid), zap.Duration("grace", sv.spec.StopGrace))
		s.kill(sv, now)
	}
}

func (s *Supervisor) depsReady(sv *service) bool {
	for _, d := range sv.deps {
		if !d.state.Up() || d.dying {
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

// start runs one start of sv: PreStart, the readiness probe, the fork/exec.
// A failure on the way is an end of the run like an exit.
func (s *Supervisor) start(sv *service, now time.Time) {
	sv.gen++
	sv.cause = nil
	sv.killed = time.Time{}
	sv.followDep = false
	sv.started = now
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
	pid, err := s.procs.start(&sv.spec, probe)
	if err != nil {
		if probe != nil && probe.Close != nil {
			probe.Close()
		}
		s.ended(sv, now, nil, err)
		return
	}
	sv.pid = pid
	s.byPid[pid] = sv
	if sv.firstStart.IsZero() {
		sv.firstStart = now
	}
	fields := []zap.Field{zap.Int("pid", pid), zap.Int("attempt", sv.restarts+1), zap.Strings("argv", sv.spec.Argv)}
	if sv.spec.Oneshot {
		// Its exit 0 is its readiness; the ready timeout bounds the run.
		sv.readyBy = time.Time{}
		if sv.spec.ReadyTimeout > 0 {
			sv.readyBy = now.Add(sv.spec.ReadyTimeout)
		}
		s.set(sv, Starting, "started", fields...)
		return
	}
	if probe == nil || probe.Wait == nil {
		if probe != nil && probe.Close != nil {
			probe.Close()
		}
		s.set(sv, Starting, "started", fields...)
		s.markReady(sv, now)
		return
	}
	sv.readyBy = time.Time{}
	if sv.spec.ReadyTimeout > 0 {
		sv.readyBy = now.Add(sv.spec.ReadyTimeout)
	}
	pctx, cancel := context.WithCancel(s.ctx)
	sv.cancelProbe = cancel
	s.set(sv, Starting, "started", fields...)
	s.runProbe(sv, sv.gen, probe, pctx)
}

func (s *Supervisor) markReady(sv *service, now time.Time) {
	sv.readyAfter = now.Sub(sv.started)
	s.set(sv, Ready, "ready", zap.Int("pid", sv.pid), zap.Duration("after", sv.readyAfter))
}

// onReady takes a readiness result: ready, or a failed check (the run is killed
// and its exit decides what comes next). A result of an older run is ignored.
func (s *Supervisor) onReady(r readyResult, now time.Time) {
	sv := r.svc
	if r.gen != sv.gen || sv.state != Starting || !sv.killed.IsZero() {
		return
	}
	sv.cancelProbe()
	sv.cancelProbe = nil
	if r.err == nil {
		s.markReady(sv, now)
		return
	}
	sv.cause = r.err
	s.kill(sv, now)
}

// onHookDone: BeforeFinish returned; the services may stop now.
func (s *Supervisor) onHookDone(time.Time) {
	if s.stop.hookRunning {
		s.hookOver()
	}
}

func (s *Supervisor) hookOver() {
	s.stop.hookRunning = false
	if s.stop.hookCancel != nil {
		s.stop.hookCancel()
	}
	s.dirty = true
}

func (s *Supervisor) onSignal(sig syscall.Signal, now time.Time) {
	switch sig {
	case syscall.SIGCHLD:
		s.reap(now)
	case syscall.SIGTERM, syscall.SIGINT:
		s.stop.signals++
		name := unix.SignalName(sig)
		switch {
		case s.stop.signals >= 2:
			s.escalate(now, name)
		case s.stop.on:
			s.log.Info("signal received; already stopping", zap.String("signal", name), zap.String("reason", s.stop.reason))
		default:
			s.log.Info("signal received; stopping", zap.String("signal", name))
			s.finish(now, 128+int(sig), "received "+name, true)
		}
	default:
		if !slices.Contains(s.opts.Forward, sig) {
			s.log.Debug("signal ignored", zap.String("signal", unix.SignalName(sig)))
			return
		}
		m := s.main
		if m == nil || m.pid == 0 || !m.state.running() {
			s.log.Info("signal not forwarded: the app is not running", zap.String("signal", unix.SignalName(sig)))
			return
		}
		s.log.Debug("forwarding signal", zap.String("signal", unix.SignalName(sig)), zap.Int("pgid", m.pid))
		if err := s.procs.signal(m.pid, sig); err != nil {
			m.log.Warn("forward signal", zap.Error(err))
		}
	}
}

// escalate is the second stop signal: no more waiting, for the hook or a grace.
func (s *Supervisor) escalate(now time.Time, signal string) {
	s.log.Warn("second stop signal; killing every service now", zap.String("signal", signal))
	if !s.stop.on {
		s.finish(now, 128+int(syscall.SIGTERM), "received "+signal, true)
	}
	if s.stop.hookRunning {
		s.hookOver()
	}
	s.stop.killBy = now
	s.stop.hard = minTime(s.stop.hard, now.Add(abandonAfter))
	for i := len(s.svcs) - 1; i >= 0; i-- {
		if sv := s.svcs[i]; sv.state.running() && sv.killed.IsZero() {
			if sv.state != Stopping {
				s.set(sv, Stopping, "")
			}
			s.kill(sv, now)
		}
	}
}

// reap takes every status wait4 has and routes it, dependencies first, so that a
// service whose dependency died in the same moment is seen to follow it.
func (s *Supervisor) reap(now time.Time) {
	batch := s.procs.reap(nil)
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
		if sv.spec.Exited != nil {
			sv.spec.Exited(r.pid)
		}
		if sv == s.main && s.tty {
			takeTerminal()
		}
		st := r.status
		// ended may take the screenshot: what the leader left drawing is still up.
		s.ended(sv, now, &st, nil)
		// The group lives and dies with its leader.
		_ = s.procs.signal(r.pid, syscall.SIGKILL)
	}
}

// verdict is what an end of a service's run means.
type verdict int

const (
	// stopped: the set is stopping; this end is part of it.
	stopped verdict = iota
	// follow: a service it comes after went away, and this run ended with it
	// (stopped by us, or the app died of it first): it starts again after it,
	// with no restart of its own counted.
	follow
	// restart: its policy restarts it, within its budget.
	restart
	// fail: it ended for good.
	fail
	// done: a oneshot that exited 0.
	done
)

// classify decides what an end of sv's run means; it changes nothing.
func (s *Supervisor) classify(sv *service, st *ExitStatus, cause error) verdict {
	var se *startError
	switch {
	case s.stop.on:
		return stopped
	case sv.followDep:
		return follow
	case sv.forced != nil:
		return restart
	case sv.spec.Oneshot && cause == nil && st != nil && st.Success():
		return done
	case sv.spec.Role == Main && st != nil && s.depGone(sv, false):
		return follow
	case IsPermanent(cause), errors.Is(cause, errAbandoned) && sv.spec.Role == Main:
		return fail
	case cause != nil && sv.spec.Role == Main && errors.As(cause, &se):
		return fail // the app's program cannot run: 126 or 127, as a shell says
	case cause != nil:
		if sv.spec.Restart.Policy == Never {
			return fail
		}
		return restart
	case sv.spec.Restart.wants(*st):
		return restart
	}
	return fail
}

// ended handles the end of a service's run: an exit (st), a start that failed or
// a process abandoned (cause).
func (s *Supervisor) ended(sv *service, now time.Time, st *ExitStatus, cause error) {
	pid := sv.pid
	if sv.cancelProbe != nil {
		sv.cancelProbe()
		sv.cancelProbe = nil
	}
	if pid != 0 {
		delete(s.byPid, pid)
	}
	sv.pid = 0
	sv.killed = time.Time{}
	sv.dying = false
	if cause == nil {
		cause = sv.cause
	} else if sv.cause != nil {
		cause = fmt.Errorf("%w; %w", sv.cause, cause)
	}
	sv.cause = nil
	forced := sv.forced
	if st != nil {
		sv.last = st
	}
	reason := describe(st, cause)
	if forced != nil {
		reason = forced.reason + "; restarted (" + reason + ")"
	}
	sv.lastReason = reason
	fields := []zap.Field{zap.Int("pid", pid), zap.String("reason", reason)}
	if st != nil {
		fields = append(fields, zap.Int("exit_code", st.Code()))
	}

	verdict := s.classify(sv, st, cause)
	sv.forced = nil
	switch verdict {
	case stopped:
		s.set(sv, Stopped, "stopped", fields...)
		if sv == s.main && s.stop.codeFromApp && st != nil {
			// The app was running when the stop began: its own end is the code.
			s.stop.codeFromApp = false
			s.stop.code = st.Code()
		}
	case follow:
		sv.followDep = false
		s.depGone(sv, true) // hold it until what it follows is reaped and ready again
		s.set(sv, Pending, "ended with a service it comes after; starts again after it", fields...)
	case restart:
		sv.log.Warn("exited", fields...)
		s.stopDependents(sv, now)
		ran := time.Duration(0) // a start that failed ran for no time at all
		if st != nil {
			ran = now.Sub(sv.started)
		}
		if delay, ok := sv.tracker.next(now, ran); ok {
			sv.restarts++
			sv.until = now.Add(delay)
			s.set(sv, Backoff, "restarting", zap.Duration("backoff", delay), zap.Int("restarts", sv.restarts))
			return
		}
		sv.lastReason = reason + "; " + sv.tracker.spent()
		if forced != nil && forced.code != 0 && sv.spec.Role == Main {
			s.set(sv, Failed, "")
			s.finish(now, forced.code, fmt.Sprintf("%s ended: %s", sv.spec.Name, sv.lastReason), false)
			return
		}
		s.fail(sv, now, st, cause, true)
	case fail:
		sv.log.Warn("exited", fields...)
		s.stopDependents(sv, now)
		s.fail(sv, now, st, cause, false)
	case done:
		sv.readyAfter = now.Sub(sv.started)
		s.set(sv, Done, "done", append(fields, zap.Duration("after", sv.readyAfter))...)
	}
}

// fail ends sv for good; for the main service or a required one, that ends the set.
func (s *Supervisor) fail(sv *service, now time.Time, st *ExitStatus, cause error, spent bool) {
	s.set(sv, Failed, "")
	reason := sv.lastReason
	switch sv.spec.Role {
	case Main:
		s.finish(now, mainCode(st, cause, spent), fmt.Sprintf("%s ended: %s", sv.spec.Name, reason), false)
	case Required:
		code := ExitFailed
		if sv.spec.FailCode != 0 {
			code = sv.spec.FailCode
		}
		s.finish(now, code, fmt.Sprintf("required service %s failed: %s", sv.spec.Name, reason), false)
	default:
		sv.log.Error("optional service failed for good", zap.String("reason", reason))
	}
}

// mainCode is the set's exit code when the main service ended for good: its own
// code (128+N for a signal), the shell's 126/127 when it could not run. A session
// that failed never exits 0: a clean exit that spent the restart budget (policy
// always) or a run that could not even start is 70.
func mainCode(st *ExitStatus, cause error, spent bool) int {
	var se *startError
	switch {
	case spent && st != nil && st.Success():
		return ExitFailed
	case st != nil && st.Code() != 0:
		return st.Code()
	case st == nil && errors.As(cause, &se):
		return se.code()
	case st != nil && cause == nil:
		return 0
	}
	return ExitFailed
}

func describe(st *ExitStatus, cause error) string {
	switch {
	case cause != nil && st != nil:
		return fmt.Sprintf("%v (%s)", cause, st)
	case cause != nil:
		return cause.Error()
	case st != nil:
		return st.String()
	}
	return ""
}

// depGone reports whether a service sv comes after is gone or going: its exit may
// not have been reaped yet when sv's own exit (caused by it) is. With mark, each
// such dependency is marked dying, so that nothing starts after it until it has
// been reaped and is ready again, and killed, so that it is reaped or abandoned
// in bounded time.
func (s *Supervisor) depGone(sv *service, mark bool) bool {
	gone := false
	for _, d := range sv.deps {
		switch {
		case !d.state.Up():
			gone = true
		case d.pid != 0 && (d.dying || s.procs.dying(d.pid)):
			gone = true
			if mark && !d.dying {
				d.dying = true
				d.log.Info("exiting; what comes after it waits for it", zap.Int("pid", d.pid))
				s.kill(d, s.now())
			}
		}
	}
	return gone
}

// stopDependents stops every running service that comes after sv, directly or
// not; they start again once sv is ready.
func (s *Supervisor) stopDependents(sv *service, now time.Time) {
	for _, d := range sv.dependents {
		switch d.state {
		case Starting, Ready:
			d.followDep = true
			s.sendStop(d, now)
		case Backoff:
			s.set(d, Pending, "")
		case Done:
			// A oneshot runs again after what it comes after is back.
			s.set(d, Pending, "runs again after the service it comes after")
		}
		s.stopDependents(d, now)
	}
}

// sendStop sends sv's stop signal; SIGKILL follows at killAt.
func (s *Supervisor) sendStop(sv *service, now time.Time) {
	if sv.cancelProbe != nil {
		sv.cancelProbe()
		sv.cancelProbe = nil
	}
	sv.killAt = now.Add(sv.spec.StopGrace)
	if s.stop.on {
		sv.killAt = minTime(sv.killAt, s.stop.killBy)
	}
	s.set(sv, Stopping, "stopping", zap.Int("pid", sv.pid), zap.String("signal", unix.SignalName(sv.spec.StopSignal)))
	if err := s.procs.signal(sv.pid, sv.spec.StopSignal); err != nil {
		sv.log.Warn("stop signal", zap.Error(err))
	}
}

func (s *Supervisor) kill(sv *service, now time.Time) {
	if !sv.killed.IsZero() {
		return
	}
	sv.killed = now
	if err := s.procs.signal(sv.pid, syscall.SIGKILL); err != nil {
		sv.log.Warn("kill", zap.Error(err))
	}
}

// abandonAll is the hard end of the stop budget: every process still there is
// given up on, so the exit code reaches the container before its engine kills us.
func (s *Supervisor) abandonAll(now time.Time) {
	for _, sv := range s.svcs {
		if sv.state.running() {
			sv.log.Error("stop budget spent; going on without the process", zap.Int("pid", sv.pid))
			s.kill(sv, now)
			s.ended(sv, now, nil, errAbandoned)
		}
	}
}

// finish begins the stop of the whole set with an exit code and a reason. When
// fromSignal, the app's own exit (if it is running) will set the code instead.
// BeforeFinish runs first, the services still up, bounded by HookTimeout; the
// services then stop in reverse order within the stop budget.
func (s *Supervisor) finish(now time.Time, code int, reason string, fromSignal bool) {
	if s.stop.on {
		return
	}
	s.log.Info("finishing", zap.Int("exit_code", code), zap.String("reason", reason))
	s.stop.on = true
	s.stop.code = code
	s.stop.reason = reason
	s.stop.codeFromApp = fromSignal && s.main != nil && s.main.pid != 0
	s.stop.base = now
	if s.opts.BeforeFinish != nil {
		s.stop.base = now.Add(HookTimeout)
		ctx, cancel := context.WithDeadline(s.ctx, s.stop.base)
		s.stop.hookRunning = true
		s.stop.hookCancel = cancel
		s.runHook(ctx, reason)
	}
	s.stop.killBy = s.stop.base.Add(s.opts.StopGrace + StopSlack/2)
	s.stop.hard = s.stop.base.Add(s.opts.StopGrace + StopSlack - sweepTime)
	for _, sv := range s.svcs {
		if sv.state == Stopping {
			sv.killAt = minTime(sv.killAt, s.stop.killBy)
		}
	}
	s.dirty = true
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
