package supervisor

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Options configure a Supervisor.
type Options struct {
	Logger *zap.Logger
	// Forward lists the signals passed on to the Main service's process group.
	Forward []syscall.Signal
	// StopGrace is the grace of services whose Spec sets none, and the base of the
	// stop budget (see StopBound).
	StopGrace time.Duration
	// BeforeFinish runs once when the set is about to stop (the main service ended
	// or timed out, a required service failed, or a stop was asked for), before any
	// service is stopped. It runs on a goroutine of its own while the loop goes on
	// reaping and handling signals; its context expires after HookTimeout, and the
	// stop goes on then whether it has returned or not.
	BeforeFinish func(ctx context.Context, reason string)
	// Signals, when set, is a channel the caller subscribed with signal.Notify
	// before Run (for the whole life of the process: a SIGTERM that comes before
	// Run then stops the set before anything starts, instead of killing the
	// process with Go's default action). Run adds the forwarded signals to it
	// (SIGCHLD goes to a channel of Run's own) and never unsubscribes it. Nil:
	// Run subscribes a channel of its own for its duration.
	Signals chan os.Signal
}

// Timing of a stop. The whole stop, from the decision (a signal, the app's exit,
// a failure) to Run's return, takes at most StopBound(grace, hook).
const (
	DefaultStopGrace = 5 * time.Second
	// StopSlack is what the stop may take beyond the grace: the services after the
	// first get their stop signal when the ones after them are down, a process
	// killed at the end of the grace must be reaped (or abandoned), and the last
	// sweep must kill and reap what is left.
	StopSlack = 2 * time.Second
	// HookTimeout bounds BeforeFinish (the screenshot).
	HookTimeout = 2 * time.Second
	// abandonAfter is how long a process may take to die after SIGKILL (a task
	// stuck in the kernel, such as a GPU hang) before the supervisor goes on
	// without it. During a stop the stop budget may cut it shorter.
	abandonAfter = time.Second
	// sweepTime is the part of StopSlack kept for the final sweep and, at its
	// end, ExitReserve.
	sweepTime = 500 * time.Millisecond
	// ExitReserve is the end of StopSlack kept for the caller's own exit after
	// Run returns (closing its servers, flushing its log's last lines): the
	// final sweep ends this long before the stop's bound.
	ExitReserve = 400 * time.Millisecond
)

// StopBound is the longest a stop takes with this grace, with or without a
// BeforeFinish hook.
func StopBound(grace time.Duration, hook bool) time.Duration {
	if grace <= 0 {
		grace = DefaultStopGrace
	}
	b := grace + StopSlack
	if hook {
		b += HookTimeout
	}
	return b
}

// DefaultForward is the list of signals forwarded to the main service by default.
var DefaultForward = []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGQUIT}

// Supervisor runs a set of services. Make one with New and call Run once.
//
// All its fields but status and orphans belong to the goroutine running Run; the
// readiness probes and the BeforeFinish hook run on goroutines of their own and
// report to that goroutine through channels.
type Supervisor struct {
	log   *zap.Logger
	opts  Options
	procs procs
	now   func() time.Time

	svcs   []*service // in dependency order: a service comes after those it needs
	byPid  map[int]*service
	main   *service
	pid1   bool
	tty    bool
	ctx    context.Context // for probes and the hook; cancelled when Run ends
	readyC chan readyResult
	hookC  chan struct{}
	reqC   chan request  // Fail and Restart, from other goroutines
	done   chan struct{} // closed when the loop ends: late probes give up sending
	wg     sync.WaitGroup
	// runProbe and runHook start a probe's Wait and the BeforeFinish hook; tests
	// replace them to drive the results by hand.
	runProbe func(sv *service, gen int, probe *Probe, ctx context.Context)
	runHook  func(ctx context.Context, reason string)

	stop    stopState
	started time.Time
	dirty   bool // a state changed since the last publish
	orphans atomic.Int64
	status  atomic.Pointer[Status]
}

// stopState is the stop of the whole set, once it has begun.
type stopState struct {
	on          bool
	code        int
	reason      string
	signals     int       // stop signals (TERM, INT) received; the second escalates
	codeFromApp bool      // the app still runs: its own exit, when it comes, sets the code
	hookRunning bool      // BeforeFinish has not returned yet; services wait for it
	hookCancel  func()    // ends the hook's context
	base        time.Time // the stop of services starts at the latest here
	killBy      time.Time // no service waits for SIGKILL past here
	hard        time.Time // every process still there is abandoned here
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
	s := &Supervisor{
		log:    opts.Logger.Named("supervisor"),
		opts:   opts,
		procs:  newOSProcs(),
		now:    time.Now,
		byPid:  map[int]*service{},
		readyC: make(chan readyResult),
		hookC:  make(chan struct{}, 1),
		reqC:   make(chan request),
		done:   make(chan struct{}),
		ctx:    context.Background(),
	}
	s.runProbe = s.goProbe
	s.runHook = s.goHook
	byName := map[string]*service{}
	idx, _ := order(specs)
	for _, i := range idx {
		sp := specs[i]
		if sp.StopGrace <= 0 || sp.StopGrace > opts.StopGrace {
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
		byName[sp.Name] = sv
		if sp.Role == Main {
			s.main = sv
		}
	}
	for _, sv := range s.svcs {
		for _, a := range sv.spec.After {
			d := byName[a]
			sv.deps = append(sv.deps, d)
			d.dependents = append(d.dependents, sv)
		}
	}
	s.publish()
	return s, nil
}

// Run starts the services and supervises them until the set stops: the main
// service ended (and is not restarted), a required service failed for good, a
// SIGTERM or SIGINT arrived, or ctx was cancelled (which counts as a SIGTERM). It
// returns the exit code. Every descendant is gone when it returns, but for
// processes stuck in the kernel, which it abandons (and logs) to keep its bound.
//
// The loop is tini's: wait for something (a signal, a readiness result, the hook's
// end, the next deadline), reap everything, act on the signals, then bring every
// service one step closer to where it should be. Nothing in the loop blocks on a
// service, the X server or the app: a fork/exec, a kill, a wait4 with WNOHANG and
// a read of /proc are its longest calls.
func (s *Supervisor) Run(ctx context.Context) int {
	sigs := s.opts.Signals
	if sigs == nil {
		sigs = make(chan os.Signal, 128)
		defer signal.Stop(sigs)
	}
	signal.Notify(sigs, s.watched()...)
	// SIGCHLD has a channel of its own, of one: reap takes every exit there is, so
	// one pending SIGCHLD stands for any number, and no burst of other signals
	// can fill the channel that an exit is reported on (the signal module drops
	// what does not fit).
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	defer signal.Stop(chld)

	s.pid1 = os.Getpid() == 1
	s.tty = foregroundTTY()
	if op, ok := s.procs.(*osProcs); ok {
		op.tty = s.tty
	}
	if !s.pid1 {
		if err := becomeSubreaper(); err != nil {
			s.log.Warn("cannot become a child subreaper; orphans of services may not be reaped", zap.Error(err))
		}
	}
	// Probes and the hook get a context of their own: the caller's ctx means
	// "stop", which is a transition of the set, not a reason to abort a probe
	// half-way. It ends when Run does.
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.ctx = runCtx
	s.started = s.now()
	s.log.Info("supervisor running", zap.Int("pid", os.Getpid()), zap.Bool("pid1", s.pid1), zap.Int("services", len(s.svcs)))

	// A stop asked for before Run (during configuration) is acted on before
	// anything starts.
	for n := len(sigs); n > 0; n-- {
		s.onSignal((<-sigs).(syscall.Signal), s.now())
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	ctxDone := ctx.Done()
	for {
		now := s.now()
		s.step(now)
		if s.finished() {
			break
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		if next, ok := s.nextDeadline(); ok {
			timer.Reset(max(next.Sub(s.now()), 0))
		}
		select {
		case <-chld:
			s.onSignal(syscall.SIGCHLD, s.now())
		case sig := <-sigs:
			s.onSignal(sig.(syscall.Signal), s.now())
			// Take every signal already queued: a burst of exits costs one pass,
			// not one per SIGCHLD.
			for n := len(sigs); n > 0; n-- {
				s.onSignal((<-sigs).(syscall.Signal), s.now())
			}
		case r := <-s.readyC:
			s.onReady(r, s.now())
		case <-s.hookC:
			s.onHookDone(s.now())
		case r := <-s.reqC:
			s.onRequest(r, s.now())
		case <-timer.C:
		case <-ctxDone:
			ctxDone = nil
			s.onSignal(syscall.SIGTERM, s.now())
		}
	}
	close(s.done)
	cancel()
	s.finalize()
	return s.stop.code
}

// watched is every signal Run needs delivered to its channel but SIGCHLD, which
// has its own.
func (s *Supervisor) watched() []os.Signal {
	w := []os.Signal{syscall.SIGTERM, syscall.SIGINT}
	for _, f := range s.opts.Forward {
		w = append(w, f)
	}
	return w
}

// finalize kills and reaps whatever is left and waits for the goroutines the
// loop started, none of it past the stop budget.
func (s *Supervisor) finalize() {
	end := s.stop.hard.Add(sweepTime - ExitReserve)
	if s.stop.hard.IsZero() || end.Before(s.now()) {
		end = s.now().Add(sweepTime - ExitReserve)
	}
	left := s.procs.sweep(s.pid1, end, func(r reaped) {
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
	s.procs.drain(end)
	if !waitUntil(&s.wg, end) {
		s.log.Warn("a readiness check or the screenshot did not return in time; exiting without it")
	}
	s.publish()
	s.log.Info("supervisor finished", zap.Int("exit_code", s.stop.code), zap.String("reason", s.stop.reason),
		zap.Int64("orphans_reaped", s.orphans.Load()))
}

// goProbe runs a start's readiness check on a goroutine of its own.
func (s *Supervisor) goProbe(sv *service, gen int, probe *Probe, ctx context.Context) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := probe.Wait(ctx)
		if probe.Close != nil {
			probe.Close()
		}
		select {
		case s.readyC <- readyResult{sv, gen, err}:
		case <-s.done:
		}
	}()
}

// goHook runs BeforeFinish on a goroutine of its own.
func (s *Supervisor) goHook(ctx context.Context, reason string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.opts.BeforeFinish(ctx, reason)
		s.hookC <- struct{}{}
	}()
}
