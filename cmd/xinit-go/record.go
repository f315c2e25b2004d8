package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/xinit-go/xinit-go/bundle"
	"github.com/xinit-go/xinit-go/config"
	"github.com/xinit-go/xinit-go/exitcode"
	"github.com/xinit-go/xinit-go/gpu"
	"github.com/xinit-go/xinit-go/health"
	"github.com/xinit-go/xinit-go/record"
	"github.com/xinit-go/xinit-go/session"
	"github.com/xinit-go/xinit-go/supervisor"
	"github.com/xinit-go/xinit-go/watchdog"
)

// exitFrozen is the exit code of a session that the watchdog ended: the screen
// was frozen or black for XINIT_FREEZE_TIMEOUT and XINIT_FREEZE_ACTION=fail (or
// restart, once the app's restart budget is spent). 75 is EX_TEMPFAIL: a hang is
// often transient (a driver, a GPU), so a CI job may retry on it, unlike the
// app's own failures; it is none of the other codes of the contract.
const exitFrozen = exitcode.Frozen

// finishBound bounds what runs after the supervisor has stopped: the stitch of
// the rolling window and the bundle. It adds to the stop bound.
const finishBound = 3 * time.Second

// maxBundleVideo: a longer recording (no rolling window) is named in the
// summary instead of copied, so the bundle stays inside finishBound.
const maxBundleVideo = 256 << 20

// extras are the recorder, the frozen-screen watchdog, the GPU monitor and the
// failure bundle around one session. Each is off unless its setting is set.
type extras struct {
	cfg     *config.Config
	sess    *session.Session
	log     *zap.Logger
	started time.Time
	rec     *record.Recorder
	encoder string
	wd      *watchdog.Watchdog
	mon     gpu.Monitor
	sup     *supervisor.Supervisor
	tails   map[string]*tail
	frozen  atomic.Pointer[watchdog.Frozen]
	lastPNG string // the screenshot for the bundle
	wg      sync.WaitGroup
	cancel  context.CancelFunc
}

// newExtras prepares them before the supervisor exists: the recorder's spec is
// added to the session's, and every service's output is also kept in a tail
// for the bundle. It may start ffmpeg for the NVENC probe, so it runs before
// the supervisor.
func newExtras(ctx context.Context, cfg *config.Config, plan *session.Plan, sess *session.Session, sys system, log *zap.Logger) (*extras, error) {
	e := &extras{cfg: cfg, sess: sess, log: log, started: time.Now(), tails: map[string]*tail{}}
	if cfg.Artifacts != "" {
		for i := range sess.Specs {
			sp := &sess.Specs[i]
			if sp.Output == nil {
				continue
			}
			t := &tail{max: 200}
			e.tails[sp.Name] = t
			out := sp.Output
			sp.Output = func(line string) { t.add(line); out(line) }
		}
		if sys.gpu != nil {
			if n, ok := sys.gpu.(gpu.NVML); ok {
				e.mon = n.StartMonitor()
			}
		}
		if plan.Backend != config.BackendNone {
			e.lastPNG = cfg.Screenshot
			if e.lastPNG == "" {
				// The bundle needs the last screen: take it as XINIT_SCREENSHOT would.
				e.lastPNG = filepath.Join(cfg.RuntimeDir, "last-screen.png")
				d := sess.Display()
				slog := log.Named("screenshot")
				sess.BeforeFinish = func(ctx context.Context, reason string) {
					if err := session.WritePNG(ctx, d, e.lastPNG); err != nil {
						slog.Warn("screenshot for the bundle failed", zap.Error(err))
					}
				}
			}
		}
	}
	if cfg.Record != "" {
		enc, why := record.ProbeEncoder(ctx, len(plan.GPUs) > 0)
		e.encoder = enc
		log.Info("recording", zap.String("path", cfg.Record), zap.String("encoder", enc), zap.String("why", why),
			zap.Int("fps", cfg.RecordFPS), zap.Duration("last", cfg.RecordLast), zap.String("keep", cfg.RecordKeep))
		env := []string{"PATH=" + sys.getenv("PATH"), "XAUTHORITY=" + sess.XAuthority, "HOME=/"}
		r, err := record.New(record.Options{
			Path: cfg.Record, FPS: cfg.RecordFPS, Last: cfg.RecordLast, Display: cfg.DisplayName(),
			Width: cfg.Width, Height: cfg.Height, Env: env, Credential: sess.AppCredential(),
			Encoder: enc, After: session.XName, Restart: restartOf(cfg), Log: log,
		})
		if err != nil {
			return nil, fmt.Errorf("%w: %v", session.ErrSetup, err)
		}
		e.rec = r
		sp := r.Spec()
		if cfg.Artifacts != "" {
			t := &tail{max: 200}
			e.tails[sp.Name] = t
			out := sp.Output
			sp.Output = func(line string) { t.add(line); out(line) }
		}
		sess.Specs = append(sess.Specs, sp)
	}
	return e, nil
}

func restartOf(cfg *config.Config) supervisor.Restart {
	r := supervisor.Restart{Budget: cfg.RestartBudget, Window: cfg.RestartWindow, BackoffMax: cfg.RestartBackoff}
	if cfg.RestartBudget == 0 {
		r.Budget = supervisor.NoRestarts
	}
	return r
}

// attach connects the watchdog to the supervisor and to /status.
func (e *extras) attach(sup *supervisor.Supervisor, info *health.Info) {
	e.sup = sup
	if e.cfg.FreezeTimeout <= 0 || len(e.cfg.App) == 0 {
		return
	}
	d := e.sess.Display()
	e.wd = watchdog.New(watchdog.Options{
		Display: d,
		Timeout: e.cfg.FreezeTimeout,
		AppStarted: func() (time.Time, bool) {
			for _, s := range sup.Status().Services {
				if s.Name == session.AppName {
					return s.Started, s.State == supervisor.Ready || s.State == supervisor.Starting
				}
			}
			return time.Time{}, false
		},
		OnFrozen: e.onFrozen,
		Log:      e.log,
	})
	timeout, action := e.cfg.FreezeTimeout.String(), e.cfg.FreezeAction
	info.Frame = func() *health.FrameStatus {
		st := e.wd.Status()
		if !st.Sampling && !st.Frozen {
			return &health.FrameStatus{Timeout: timeout, Action: action, Error: st.Error}
		}
		return &health.FrameStatus{Sampling: true, UnchangedSeconds: st.Unchanged.Seconds(), Black: st.Black, Frozen: st.Frozen,
			Timeout: timeout, Action: action, Error: st.Error}
	}
}

// onFrozen acts on a freeze: the screenshot, then XINIT_FREEZE_ACTION.
func (e *extras) onFrozen(ctx context.Context, f watchdog.Frozen) {
	e.frozen.Store(&f)
	shot := filepath.Join(e.cfg.RuntimeDir, "frozen-screen.png")
	var err error
	if f.Stalled {
		// The X server does not answer: a picture would only cost the timeout.
		err = errors.New("not taken: the X server does not answer")
	} else {
		sctx, cancel := context.WithTimeout(ctx, supervisor.HookTimeout)
		err = session.WritePNG(sctx, e.sess.Display(), shot)
		cancel()
	}
	fields := []zap.Field{zap.String("action", e.cfg.FreezeAction), zap.Bool("black", f.Black), zap.Bool("stalled", f.Stalled),
		zap.Duration("unchanged", f.Unchanged)}
	if err != nil {
		fields = append(fields, zap.NamedError("screenshot", err))
	} else {
		fields = append(fields, zap.String("screenshot", shot))
	}
	wlog := e.log.Named("watchdog")
	reason := "frozen screen: " + f.String()
	switch e.cfg.FreezeAction {
	case "fail":
		wlog.Error(reason+"; failing the session", fields...)
		_ = e.sup.Fail(ctx, exitFrozen, reason)
	case "restart":
		wlog.Error(reason+"; restarting the app", fields...)
		_ = e.sup.Restart(ctx, session.AppName, exitFrozen, reason)
	default:
		wlog.Error(reason, fields...)
	}
}

// start runs the watchdog on a goroutine of its own.
func (e *extras) start() {
	if e.wd == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.wd.Run(ctx)
	}()
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
	failed := code != 0
	video, videoErr := "", ""
	if e.rec != nil {
		ctx, cancel := context.WithTimeout(context.Background(), record.FinishTimeout)
		v, err := e.rec.Finish(ctx, failed || e.cfg.RecordKeep == "always")
		cancel()
		e.rec.Close()
		if err != nil {
			videoErr = err.Error()
			e.log.Warn("recording", zap.Error(err))
		}
		video = v
	}
	if e.cfg.Artifacts == "" {
		return
	}
	sum := &summary{
		ExitCode: code, Failed: failed, Reason: st.Reason,
		Started: e.started.UTC(), Ended: time.Now().UTC(),
		Settings: e.cfg.Redacted(), Video: video, VideoError: videoErr, Encoder: e.encoder,
	}
	sum.DurationSeconds = sum.Ended.Sub(sum.Started).Seconds()
	if f := e.frozen.Load(); f != nil {
		sum.Frozen = f.String()
	}
	for _, s := range st.Services {
		sum.Services = append(sum.Services, serviceSummary{Name: s.Name, State: string(s.State), Restarts: s.Restarts,
			ReadyAfterSeconds: s.ReadyAfter.Seconds(), LastExitCode: s.LastExitCode, LastReason: s.LastReason})
	}
	b := bundle.Bundle{Summary: sum}
	if c := e.sess.AppCredential(); c != nil {
		b.Owner = &bundle.Owner{UID: int(c.Uid), GID: int(c.Gid)}
	}
	if failed {
		b.Files = e.files(video)
		b.Blobs = append(b.Blobs, bundle.Blob{Name: "status.json", Data: health.StatusJSON(st, info)})
		for name, t := range e.tails {
			b.Blobs = append(b.Blobs, bundle.Blob{Name: "logs/" + name + ".log", Data: []byte(t.text())})
		}
		snap := gpu.Snapshot{Time: time.Now().UTC(), Error: "no GPU: NVML is not used here", Xid: []gpu.Xid{}}
		if e.mon != nil {
			snap = e.mon.Snapshot()
		}
		b.Blobs = append(b.Blobs, bundle.Blob{Name: "gpu.json", Data: jsonIndent(snap)})
	}
	name := fmt.Sprintf("xinit-go-%s-exit%d", e.started.UTC().Format("20060102T150405Z"), code)
	res, err := bundle.Write(e.cfg.Artifacts, name, b)
	if err != nil {
		e.log.Error("failure bundle not written", zap.Error(err))
		return
	}
	e.log.Info("bundle written", zap.String("path", res.Path), zap.Strings("files", res.Written), zap.Any("missing", res.Missing))
}

// files are the files a failure bundle copies.
func (e *extras) files(video string) []bundle.File {
	var fs []bundle.File
	if e.lastPNG != "" {
		fs = append(fs, e.thisRun("screenshot.png", e.lastPNG))
	}
	if f := e.frozen.Load(); f != nil {
		fs = append(fs, e.thisRun("frozen-screen.png", filepath.Join(e.cfg.RuntimeDir, "frozen-screen.png")))
	}
	if video != "" {
		if st, err := os.Lstat(video); err == nil && st.Size() <= maxBundleVideo {
			fs = append(fs, bundle.File{Name: "video.mp4", Path: video})
		}
	}
	if e.sess.XorgConfPath != "" {
		fs = append(fs, bundle.File{Name: "Xorg.log", Path: filepath.Join(e.cfg.RuntimeDir, fmt.Sprintf("Xorg.%d.log", e.cfg.Display))})
		fs = append(fs, bundle.File{Name: "xorg.conf", Path: e.sess.XorgConfPath})
	}
	return fs
}

// thisRun is a screenshot for the bundle, marked missing when this run did not
// write it: a failed screenshot leaves an earlier run's file in place, which
// must not pass for this run's screen.
func (e *extras) thisRun(name, path string) bundle.File {
	st, err := os.Lstat(path)
	switch {
	case err != nil:
		return bundle.File{Name: name, Path: path, Missing: "not taken: " + err.Error()}
	case st.ModTime().Before(e.started):
		return bundle.File{Name: name, Path: path, Missing: "not taken in this run (the screenshot failed; see the log)"}
	}
	return bundle.File{Name: name, Path: path}
}

type summary struct {
	ExitCode        int               `json:"exit_code"`
	Failed          bool              `json:"failed"`
	Reason          string            `json:"reason"`
	Frozen          string            `json:"frozen,omitempty"`
	Started         time.Time         `json:"started"`
	Ended           time.Time         `json:"ended"`
	DurationSeconds float64           `json:"duration_seconds"`
	Services        []serviceSummary  `json:"services"`
	Video           string            `json:"video,omitempty"`
	VideoError      string            `json:"video_error,omitempty"`
	Encoder         string            `json:"encoder,omitempty"`
	Settings        *config.Config    `json:"settings"`
	Files           []string          `json:"files"`
	Missing         map[string]string `json:"missing,omitempty"`
	AppOutput       string            `json:"app_output"`
}

type serviceSummary struct {
	Name              string  `json:"name"`
	State             string  `json:"state"`
	Restarts          int     `json:"restarts"`
	ReadyAfterSeconds float64 `json:"ready_after_seconds"`
	LastExitCode      int     `json:"last_exit_code"`
	LastReason        string  `json:"last_reason,omitempty"`
}

func (s *summary) SetFiles(files []string, missing map[string]string) {
	s.Files, s.Missing = files, missing
	s.AppOutput = "the app writes to the container's stdout and stderr; its output is in the container's log"
}

// tail keeps the last lines of a service's output.
type tail struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == t.max {
		t.lines = append(t.lines[:0], t.lines[1:]...)
	}
	t.lines = append(t.lines, line)
}

func (t *tail) text() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return ""
	}
	return strings.Join(t.lines, "\n") + "\n"
}

func jsonIndent(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return []byte(fmt.Sprintf("{\"error\": %q}\n", err.Error()))
	}
	return append(b, '\n')
}
