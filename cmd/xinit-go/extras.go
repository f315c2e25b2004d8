package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/xinit-go/xinit-go/bundle"
	"github.com/xinit-go/xinit-go/config"
	"github.com/xinit-go/xinit-go/exitcode"
	"github.com/xinit-go/xinit-go/gpu"
	"github.com/xinit-go/xinit-go/health"
	"github.com/xinit-go/xinit-go/internal/linebuf"
	"github.com/xinit-go/xinit-go/record"
	"github.com/xinit-go/xinit-go/session"
	"github.com/xinit-go/xinit-go/supervisor"
	"github.com/xinit-go/xinit-go/watchdog"
	"github.com/xinit-go/xinit-go/xscreen"
)

// finishBound bounds what runs after the supervisor has stopped: the stitch of
// the rolling window and the bundle. It adds to the stop bound.
const finishBound = 3 * time.Second

// extras wire the recorder, the frozen-screen watchdog, the screen's update
// meter (with the slow-screen rule and the first-frame readiness), the GPU
// monitor and the failure bundle around one session. Each but the meter is off
// unless its setting is set; the meter runs whenever there is a display.
type extras struct {
	cfg     *config.Config
	sess    *session.Session
	log     *zap.Logger
	started time.Time
	rec     *record.Recorder
	encoder string
	wd      *watchdog.Watchdog
	resp    *watchdog.Responder
	meter   *watchdog.Meter
	slow    *watchdog.Responder
	sup     *supervisor.Supervisor
	mon     gpu.Monitor
	tails   map[string]*linebuf.Ring
	wg      sync.WaitGroup
	cancel  context.CancelFunc
}

// newExtras prepares them before the supervisor exists: the recorder's spec is
// added to the session's, and every service's output is also kept for the
// bundle. It may start ffmpeg for the NVENC probe, so it runs before the
// supervisor.
func newExtras(ctx context.Context, cfg *config.Config, plan *session.Plan, sess *session.Session, sys system, log *zap.Logger) (*extras, error) {
	e := &extras{cfg: cfg, sess: sess, log: log, started: time.Now(), tails: map[string]*linebuf.Ring{}}
	if cfg.Record != "" {
		enc, why := record.ProbeEncoder(ctx, len(plan.GPUs) > 0)
		e.encoder = enc
		log.Info("recording", zap.String("path", cfg.Record), zap.String("encoder", enc), zap.String("why", why),
			zap.Int("fps", cfg.RecordFPS), zap.Duration("last", cfg.RecordLast), zap.String("keep", string(cfg.RecordKeep)))
		env := []string{"PATH=" + sys.getenv("PATH"), "XAUTHORITY=" + sess.XAuthority, "HOME=/"}
		r, err := record.New(record.Options{
			Path: cfg.Record, FPS: cfg.RecordFPS, Last: cfg.RecordLast, Display: cfg.DisplayName(),
			Width: cfg.Width, Height: cfg.Height, Env: env, Credential: sess.AppCredential(),
			Encoder: enc, After: session.XName, Restart: session.RestartPolicy(cfg), Log: log,
		})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", session.ErrSetup, err)
		}
		e.rec = r
		sess.Specs = append(sess.Specs, r.Spec())
	}
	if cfg.Artifacts != "" {
		for i := range sess.Specs {
			sp := &sess.Specs[i]
			if sp.Output == nil {
				continue
			}
			t := linebuf.New(200)
			e.tails[sp.Name] = t
			out := sp.Output
			sp.Output = func(line string) { t.Add(line); out(line) }
		}
		if sys.gpu != nil {
			if n, ok := sys.gpu.(gpu.NVML); ok {
				e.mon = n.StartMonitor()
			}
		}
	}
	if plan.Backend != config.BackendNone {
		e.meter = watchdog.NewMeter(watchdog.MeterOptions{
			Display:    sess.Display(),
			Slow:       watchdog.SlowRule{Rate: cfg.SlowFPS, For: cfg.SlowFor},
			AppStarted: e.appStarted,
			OnSlow: func(ctx context.Context, s watchdog.Slow) {
				if e.slow != nil {
					e.slow.OnSlow(ctx, s)
				}
			},
			Log: log,
		})
		if cfg.AppReady == config.AppReadyFrame {
			for i := range sess.Specs {
				if sess.Specs[i].Name == session.AppName {
					sess.Specs[i].Ready = e.firstFrame
				}
			}
		}
	}
	return e, nil
}

// appStarted is when the app's current run started, and whether it runs.
func (e *extras) appStarted() (time.Time, bool) {
	if e.sup == nil {
		return time.Time{}, false
	}
	for _, s := range e.sup.Status().Services {
		if s.Name == session.AppName {
			return s.Started, s.State == supervisor.Ready || s.State == supervisor.Starting
		}
	}
	return time.Time{}, false
}

// firstFrame is the app's readiness under XINIT_APP_READY=frame: ready once
// the screen has been updated since this start and is not entirely black. Past
// XINIT_APP_READY_TIMEOUT it ends the session with exit code 79 (the
// supervisor's own ready timeout would only restart the app, or end with its
// signal's code).
func (e *extras) firstFrame() (*supervisor.Probe, error) {
	mark := e.meter.Mark()
	timeout := e.cfg.AppReadyTimeout
	return &supervisor.Probe{Wait: func(ctx context.Context) error {
		dctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		start := time.Now()
		err := e.meter.FirstFrame(dctx, mark)
		if err == nil {
			e.log.Info("the app's first frame is on the screen", zap.Duration("after", time.Since(start)))
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		reason := fmt.Sprintf("no first frame: the app drew nothing but black for %s (XINIT_APP_READY_TIMEOUT)", timeout)
		if e.xStalled(ctx) {
			reason = fmt.Sprintf("no first frame within %s (XINIT_APP_READY_TIMEOUT): the X server does not answer", timeout)
		}
		e.log.Error(reason+"; failing the session", zap.Int("exit_code", exitcode.NoFrame))
		_ = e.sup.Fail(ctx, exitcode.NoFrame, reason)
		// The stop ends this run, and with it ctx.
		<-ctx.Done()
		return errors.New(reason)
	}}, nil
}

// xStalled reports whether the X server does not answer a new connection
// within a second: a first frame that never came may be its doing, not the
// app's.
func (e *extras) xStalled(ctx context.Context) bool {
	c, err := xscreen.Dial(ctx, e.sess.Display(), time.Second)
	if err != nil {
		return xscreen.Stalled(err)
	}
	c.Close()
	return false
}

// attach connects the watchdog and the meter to the supervisor and to /status.
func (e *extras) attach(sup *supervisor.Supervisor, info *health.Info) {
	e.sup = sup
	e.attachMeter(sup, info)
	if e.cfg.FreezeTimeout <= 0 || len(e.cfg.App) == 0 {
		return
	}
	action := freezeAction(e.cfg.FreezeAction)
	e.resp = &watchdog.Responder{Action: action, App: session.AppName, Code: exitcode.Frozen,
		Picture: e.sess.FrozenScreen(), Display: e.sess.Display(), PictureTimeout: supervisor.HookTimeout,
		Ctl: sup, Log: e.log.Named("watchdog")}
	e.wd = watchdog.New(watchdog.Options{
		Display:    e.sess.Display(),
		Timeout:    e.cfg.FreezeTimeout,
		AppStarted: e.appStarted,
		OnFrozen:   e.resp.OnFrozen,
		Log:        e.log,
	})
	timeout := e.cfg.FreezeTimeout.String()
	info.Frame = func() *health.FrameStatus {
		st := e.wd.Status()
		if !st.Sampling && !st.Frozen {
			return &health.FrameStatus{Timeout: timeout, Action: action.String(), Error: st.Error}
		}
		return &health.FrameStatus{Sampling: true, UnchangedSeconds: st.Unchanged.Seconds(), Black: st.Black, Frozen: st.Frozen,
			Timeout: timeout, Action: action.String(), Error: st.Error}
	}
}

func (e *extras) attachMeter(sup *supervisor.Supervisor, info *health.Info) {
	if e.meter == nil {
		return
	}
	var slow *health.SlowStatus
	if e.cfg.SlowFPS > 0 && len(e.cfg.App) > 0 {
		e.slow = &watchdog.Responder{Action: freezeAction(e.cfg.SlowAction), App: session.AppName, Code: exitcode.Frozen,
			Picture: e.sess.SlowScreen(), Display: e.sess.Display(), PictureTimeout: supervisor.HookTimeout,
			Ctl: sup, Log: e.log.Named("meter")}
		slow = &health.SlowStatus{Below: e.cfg.SlowFPS, For: e.cfg.SlowFor.String(), Action: string(e.cfg.SlowAction)}
	}
	info.Screen = func() *health.Screen {
		st := e.meter.Status()
		s := &health.Screen{Watching: st.Watching, Error: st.Error, Total: st.Total, PerSecond: st.PerSecond,
			LongestGapSeconds: st.LongestGap.Seconds(), SinceLastSeconds: st.SinceLast.Seconds(),
			Bounds: watchdog.IntervalBounds, Counts: st.Counts, Intervals: st.Intervals, Sum: st.IntervalSum}
		if slow != nil {
			sl := *slow
			sl.Slow = st.Slow
			s.Slow = &sl
		}
		return s
	}
}

// start runs the watchdog and the meter on goroutines of their own.
func (e *extras) start() {
	if e.wd == nil && e.meter == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	for _, run := range []func(context.Context){e.runWatchdog, e.runMeter} {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			run(ctx)
		}()
	}
}

func (e *extras) runWatchdog(ctx context.Context) {
	if e.wd != nil {
		e.wd.Run(ctx)
	}
}

func (e *extras) runMeter(ctx context.Context) {
	if e.meter != nil {
		e.meter.Run(ctx)
	}
}

// finish runs once the supervisor has stopped: the watchdog ends, the
// recording is kept or removed (and stitched), and the bundle is written. It
// returns the exit code, and takes at most finishBound.
func (e *extras) finish(code int, st supervisor.Status, info health.Info) int {
	if e.cancel != nil {
		e.cancel()
		e.wg.Wait()
	}
	if e.rec == nil && e.cfg.Artifacts == "" {
		return code
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.finishWork(code, st, info)
	}()
	select {
	case <-done:
	case <-time.After(finishBound):
		e.log.Error("the recording and the bundle did not finish in time; exiting without them", zap.Duration("bound", finishBound))
	}
	if e.mon != nil {
		e.mon.Close()
	}
	return code
}

func (e *extras) finishWork(code int, st supervisor.Status, info health.Info) {
	end := bundle.End{Code: code, Reason: st.Reason, Started: e.started, Ended: time.Now(),
		Settings: e.cfg.Redacted(), Encoder: e.encoder}
	if e.rec != nil {
		ctx, cancel := context.WithTimeout(context.Background(), record.FinishTimeout)
		v, err := e.rec.Finish(ctx, code != 0 || e.cfg.RecordKeep == config.KeepAlways)
		cancel()
		e.rec.Close()
		if err != nil {
			end.VideoError = err.Error()
			e.log.Warn("recording", zap.Error(err))
		}
		end.Video = v
	}
	if e.cfg.Artifacts == "" {
		return
	}
	end.Ended = time.Now()
	if e.resp != nil {
		if f := e.resp.Frozen(); f != nil {
			end.Frozen = f.String()
		}
	}
	if e.slow != nil {
		if s := e.slow.Slow(); s != nil {
			end.Slow = s.String()
		}
	}
	for _, s := range st.Services {
		end.Services = append(end.Services, bundle.ServiceSummary{Name: s.Name, State: string(s.State), Restarts: s.Restarts,
			ReadyAfterSeconds: s.ReadyAfter.Seconds(), LastExitCode: s.LastExitCode, LastReason: s.LastReason})
	}
	if c := e.sess.AppCredential(); c != nil {
		end.Owner = &bundle.Owner{UID: int(c.Uid), GID: int(c.Gid)}
	}
	src := bundle.Sources{Screenshot: e.sess.LastScreen(), FrozenScreen: e.sess.FrozenScreen(), SlowScreen: e.sess.SlowScreen(), XLog: e.sess.XLog(),
		XorgConf: e.sess.XorgConfPath, Logs: map[string]string{}}
	if code != 0 {
		src.Status = health.StatusJSON(st, info)
		// The bundle belongs to XINIT_APP_USER when there is one: the output of
		// the extra services, which run as root, stays in the container's log.
		rootOnly := map[string]bool{}
		if e.sess.AppCredential() != nil {
			for _, es := range e.cfg.Services {
				rootOnly[es.Name] = true
			}
		}
		for name, t := range e.tails {
			if rootOnly[name] {
				if src.Withheld == nil {
					src.Withheld = map[string]string{}
				}
				src.Withheld[name] = "the output of a service that runs as root is not given to XINIT_APP_USER, who owns the bundle; it is in the container's log"
				continue
			}
			src.Logs[name] = t.Text()
		}
		snap := gpu.Snapshot{Time: time.Now().UTC(), Error: "no GPU: NVML is not used here", Xid: []gpu.Xid{}}
		if e.mon != nil {
			snap = e.mon.Snapshot()
		}
		src.GPU = bundle.JSON(snap)
	}
	name, b := bundle.Assemble(end, src)
	res, err := bundle.Write(e.cfg.Artifacts, name, b)
	if err != nil {
		e.log.Error("failure bundle not written", zap.Error(err))
		return
	}
	e.log.Info("bundle written", zap.String("path", res.Path), zap.Strings("files", res.Written), zap.Any("missing", res.Missing))
}

// freezeAction is the watchdog's action for XINIT_FREEZE_ACTION.
func freezeAction(a config.FreezeAction) watchdog.Action {
	switch a {
	case config.FreezeRestart:
		return watchdog.Restart
	case config.FreezeLog:
		return watchdog.Log
	}
	return watchdog.Fail
}
