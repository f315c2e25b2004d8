package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/xinit-go/xinit-go/config"
	"github.com/xinit-go/xinit-go/glprobe"
	"github.com/xinit-go/xinit-go/supervisor"
	"github.com/xinit-go/xinit-go/vnc"
	"github.com/xinit-go/xinit-go/xscreen"
	"github.com/xinit-go/xinit-go/xserver"
)

// Service names; extra services name these in `after`.
const (
	XName   = "x"
	VNCName = "vnc"
	AppName = "app"
)

// Session is the X session ready to hand to the supervisor.
type Session struct {
	Plan  *Plan
	Specs []supervisor.Spec
	// VNCAddr is where VNC listens, "" when off.
	VNCAddr string
	// XorgConfPath is the xorg.conf in use, "" under Xvfb.
	XorgConfPath string
	// XAuthority is the X authority file clients use, "" without X.
	XAuthority string
	// Vital names the optional services the health probes still count (give it
	// to health.Info.Vital): VNC beside an app.
	Vital []string

	display   xscreen.Display // how xinit-go itself connects: readiness, screenshot
	user      *AppUser
	clientDir string
	rt        *runtimeDir    // open while Build runs
	gl        *glprobe.Probe // the GL renderer probe, nil without X
	paths     paths
	finish    []func(ctx context.Context, reason string)
}

// paths are the session's own files in the runtime directory, and the last
// screen's picture.
type paths struct {
	xlog       string // the X server's log, "" under Xvfb (its output goes to the log)
	lastScreen string // the picture taken when the session is about to stop, "" when none is taken
	frozen     string // the frozen screen's picture
	slow       string // the slow screen's picture
}

// XLog is the X server's log file, "" when it writes none (Xvfb).
func (s *Session) XLog() string { return s.paths.xlog }

// LastScreen is the picture of the screen taken when the session is about to
// stop: XINIT_SCREENSHOT, or one in the runtime directory for the failure
// bundle; "" when none is taken.
func (s *Session) LastScreen() string { return s.paths.lastScreen }

// FrozenScreen is where the frozen-screen watchdog keeps its picture.
func (s *Session) FrozenScreen() string { return s.paths.frozen }

// SlowScreen is where the slow-screen rule keeps its picture.
func (s *Session) SlowScreen() string { return s.paths.slow }

// OnFinish adds f to what runs when the set is about to stop, before any
// service is stopped (after the others added before it).
func (s *Session) OnFinish(f func(ctx context.Context, reason string)) {
	s.finish = append(s.finish, f)
}

// BeforeFinish runs every OnFinish function in order; give it to the
// supervisor's Options.BeforeFinish. ctx bounds them all.
func (s *Session) BeforeFinish(ctx context.Context, reason string) {
	for _, f := range s.finish {
		if ctx.Err() != nil {
			return
		}
		f(ctx, reason)
	}
}

// RestartPolicy is the restart budget, window and back-off every service of the
// session shares (XINIT_RESTART_*); each service sets its own Policy.
func RestartPolicy(cfg *config.Config) supervisor.Restart {
	r := supervisor.Restart{Budget: cfg.RestartBudget, Window: cfg.RestartWindow, BackoffMax: cfg.RestartBackoff}
	if cfg.RestartBudget == 0 {
		r.Budget = supervisor.NoRestarts
	}
	return r
}

// policy is the supervisor's restart policy for a configured one.
func policy(p config.RestartPolicy) supervisor.Policy {
	switch p {
	case config.RestartOnFailure:
		return supervisor.OnFailure
	case config.RestartAlways:
		return supervisor.Always
	}
	return supervisor.Never
}

func (s *Session) credential() *syscall.Credential {
	if s.user == nil {
		return nil
	}
	return s.user.Cred
}

// ErrSetup marks a failure to prepare the session's files (exit 78: nothing started).
var ErrSetup = errors.New("session setup")

// Build prepares the runtime directory, xorg.conf and password file, and returns
// the services. Nothing is started.
func Build(cfg *config.Config, plan *Plan, env Env, log *zap.Logger) (*Session, error) {
	s := &Session{Plan: plan, paths: pathsOf(cfg, plan.Backend)}
	if cfg.AppUser != "" {
		u, err := lookupUser(cfg.AppUser)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSetup, err)
		}
		s.user = u
	}
	restart := RestartPolicy(cfg)
	base := childEnv(env.Environ)
	withX := plan.Backend != config.BackendNone
	if withX {
		var err error
		if base, err = s.prepareX(cfg, plan, restart, base, log); err != nil {
			return nil, err
		}
	}
	appEnv, extraEnv := s.appEnvs(cfg, plan, env, base)
	if withX {
		s.Specs = append(s.Specs, s.glProbeSpec(cfg, plan, appEnv, log))
	}
	if len(cfg.App) > 0 {
		s.Specs = append(s.Specs, s.appSpec(cfg, appEnv, restart, withX))
	}
	for _, es := range cfg.Services {
		s.Specs = append(s.Specs, extraSpec(es, extraEnv, restart, log))
	}
	s.screenshotOnFinish(log)
	return s, nil
}

// pathsOf are the session's own files for a backend: none without X, the X
// log only under Xorg.
func pathsOf(cfg *config.Config, backend config.Backend) paths {
	var p paths
	if backend == config.BackendNone {
		return p
	}
	p.frozen = filepath.Join(cfg.RuntimeDir, "frozen-screen.png")
	p.slow = filepath.Join(cfg.RuntimeDir, "slow-screen.png")
	switch {
	case cfg.Screenshot != "":
		p.lastScreen = cfg.Screenshot
	case cfg.Artifacts != "":
		// The failure bundle needs the last screen: taken as XINIT_SCREENSHOT would.
		p.lastScreen = filepath.Join(cfg.RuntimeDir, "last-screen.png")
	}
	if backend == config.BackendNvidia || backend == config.BackendDummy {
		p.xlog = filepath.Join(cfg.RuntimeDir, fmt.Sprintf("Xorg.%d.log", cfg.Display))
	}
	return p
}

// prepareX opens the runtime directory, writes the client files (the X
// authority, VNC's password) and xorg.conf, and adds the X server's and VNC's
// specs. It returns base with XAUTHORITY set.
func (s *Session) prepareX(cfg *config.Config, plan *Plan, restart supervisor.Restart, base []string, log *zap.Logger) ([]string, error) {
	rt, err := openRuntimeDir(cfg.RuntimeDir, s.user != nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	defer rt.close()
	s.rt = rt
	defer func() { s.rt = nil }()
	xauth, cookie, err := xserver.Authority(cfg.Display)
	if err != nil {
		return nil, fmt.Errorf("%w: make the X authority cookie: %w", ErrSetup, err)
	}
	files := []clientFile{{name: "Xauthority", data: xauth}}
	if cfg.VNC && cfg.VNCPassword != "" {
		files = append(files, clientFile{name: "vncpasswd", data: vnc.EncryptPassword(cfg.VNCPassword)})
	}
	s.clientDir, err = rt.makeClientDir(files, s.user)
	if err != nil {
		return nil, fmt.Errorf("%w: XINIT_RUNTIME_DIR=%q: %w; check that it is writable and not full", ErrSetup, cfg.RuntimeDir, err)
	}
	s.XAuthority = filepath.Join(s.clientDir, "Xauthority")
	s.display = xscreen.Display{Num: cfg.Display, Cookie: cookie}
	base = setEnv(base, "XAUTHORITY", s.XAuthority)
	xs, err := s.xSpec(cfg, plan, base, restart, log)
	if err != nil {
		return nil, err
	}
	s.Specs = append(s.Specs, xs)
	if cfg.VNC {
		s.Specs = append(s.Specs, s.vncSpec(cfg, base, restart, log))
	}
	return base, nil
}

// appEnvs are the app's environment (the display, the GLX vendor rule, the
// Vulkan layer, its user's identity) and the extra services' (the same, with
// xinit-go's own identity).
func (s *Session) appEnvs(cfg *config.Config, plan *Plan, env Env, base []string) (app, extra []string) {
	app = append([]string(nil), base...)
	if plan.Backend != config.BackendNone {
		app = setEnv(app, "DISPLAY", cfg.DisplayName())
		if plan.NvidiaGLX && lookupEnv(env.Environ, "__GLX_VENDOR_LIBRARY_NAME") == "" {
			app = setEnv(app, "__GLX_VENDOR_LIBRARY_NAME", "nvidia")
		}
		app = plan.Vulkan.appEnv(app)
	}
	// Extra services run as xinit-go's own user (root): with an app user they get
	// root's HOME, USER and LOGNAME, not the app user's (root's dotfiles in the
	// user's home would be a place for the user to plant links).
	extra = app
	if u := s.user; u != nil {
		extra = ownIdentity(app)
		app = setEnv(app, "HOME", u.Home)
		app = setEnv(app, "USER", u.Name)
		app = setEnv(app, "LOGNAME", u.Name)
	}
	return app, extra
}

// glProbeSpec places the renderer probe: it sees what the app will, its user
// and its environment.
func (s *Session) glProbeSpec(cfg *config.Config, plan *Plan, appEnv []string, log *zap.Logger) supervisor.Spec {
	o := glprobe.Options{Self: selfPath(), Env: appEnv, Credential: s.credential(), After: XName, Require: cfg.RequireGPU, Log: log}
	if !plan.NvidiaGLX {
		o.GLXWhy = plan.GLXWhy
	}
	sp, p := glprobe.Spec(o)
	s.gl = p
	return sp
}

// appSpec is the app: the session's main service, after X (and after the
// probe under XINIT_REQUIRE_GPU=1).
func (s *Session) appSpec(cfg *config.Config, env []string, restart supervisor.Restart, withX bool) supervisor.Spec {
	r := restart
	r.Policy = policy(cfg.AppRestart)
	app := supervisor.Spec{
		Name:       AppName,
		Argv:       cfg.App,
		Env:        env,
		Credential: s.credential(),
		Role:       supervisor.Main,
		Stdin:      true,
		Restart:    r,
		Timeout:    cfg.AppTimeout,
	}
	if withX {
		app.After = []string{XName}
		if cfg.RequireGPU {
			// X stays named: an app that dies with X, before X is reaped, follows it.
			app.After = append(app.After, glprobe.Name)
		}
	}
	return app
}

// screenshotOnFinish takes the last screen's picture when the session is about
// to stop, when one is asked for.
func (s *Session) screenshotOnFinish(log *zap.Logger) {
	path := s.paths.lastScreen
	if path == "" {
		return
	}
	slog := log.Named("screenshot")
	s.OnFinish(func(ctx context.Context, reason string) {
		start := time.Now()
		if err := xscreen.WritePNG(ctx, s.display, path); err != nil {
			slog.Warn("screenshot failed", zap.String("path", path), zap.Error(err))
			return
		}
		slog.Info("screenshot written", zap.String("path", path), zap.String("reason", reason), zap.Duration("took", time.Since(start)))
	})
}

func (s *Session) xSpec(cfg *config.Config, plan *Plan, env []string, restart supervisor.Restart, log *zap.Logger) (supervisor.Spec, error) {
	o := xserver.Options{Display: s.display, Resolution: cfg.Resolution(), Width: cfg.Width, Height: cfg.Height,
		Authority: s.XAuthority, Args: cfg.XArgs, Log: log.Named(XName)}
	if plan.Backend == config.BackendNvidia || plan.Backend == config.BackendDummy {
		path := cfg.XorgConf
		if path == "" {
			path = filepath.Join(cfg.RuntimeDir, "xorg.conf")
			text, err := plan.XorgConf()
			if err != nil {
				return supervisor.Spec{}, err
			}
			if err := s.rt.writeFile("xorg.conf", text, 0o644); err != nil {
				return supervisor.Spec{}, fmt.Errorf("%w: write xorg.conf: %w; check that XINIT_RUNTIME_DIR=%q is writable and not full", ErrSetup, err, cfg.RuntimeDir)
			}
		} else if _, err := os.Stat(path); err != nil {
			return supervisor.Spec{}, fmt.Errorf("%w: XINIT_XORG_CONF=%q: %w", ErrSetup, path, err)
		}
		s.XorgConfPath = path
		o.XorgConf, o.XorgLog = path, s.paths.xlog
	}
	r := restart
	r.Policy = supervisor.Always
	sp := xserver.Spec(o)
	sp.Name = XName
	sp.Env = env
	sp.Role = supervisor.Required
	sp.Restart = r
	sp.ReadyTimeout = cfg.XReady
	return sp, nil
}

func (s *Session) vncSpec(cfg *config.Config, env []string, restart supervisor.Restart, log *zap.Logger) supervisor.Spec {
	o := vnc.Options{Display: cfg.Display, Port: cfg.VNCPort, Listen: cfg.VNCListen, Password: cfg.VNCPassword,
		UID: os.Geteuid(), Log: log.Named(VNCName)}
	if cfg.VNCPassword != "" {
		// Written with the client directory (Build).
		o.AuthFile = filepath.Join(s.clientDir, "vncpasswd")
	}
	if s.user != nil {
		o.UID = int(s.user.Cred.Uid)
	}
	s.VNCAddr = o.Addr()
	r := restart
	r.Policy = supervisor.Always
	// VNC is required only when it is the point of the session (no app). Beside an
	// app it is a window on it: an x11vnc that spends its restart budget neither
	// stops the app nor changes the exit code (a CI Job's result is the app's), but
	// it is vital to the health probes, so that a Deployment's liveness probe
	// restarts the pod.
	role := supervisor.Required
	if len(cfg.App) > 0 {
		role = supervisor.Optional
		s.Vital = append(s.Vital, VNCName)
	}
	sp := vnc.Spec(o)
	sp.Name = VNCName
	sp.Credential = s.credential()
	sp.Env = setEnv(env, "DISPLAY", cfg.DisplayName())
	sp.After = []string{XName}
	sp.Role = role
	sp.Restart = r
	return sp
}

func extraSpec(es config.Service, env []string, restart supervisor.Restart, log *zap.Logger) supervisor.Spec {
	e := append([]string(nil), env...)
	keys := make([]string, 0, len(es.Env))
	for k := range es.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e = setEnv(e, k, es.Env[k])
	}
	r := restart
	r.Policy = policy(es.Restart)
	role := supervisor.Optional
	if es.Required {
		role = supervisor.Required
	}
	slog := log.Named(es.Name)
	return supervisor.Spec{
		Name:    es.Name,
		Argv:    es.Command,
		Env:     e,
		Dir:     es.Dir,
		After:   es.After,
		Role:    role,
		Restart: r,
		Output:  func(line string) { slog.Info(line) },
	}
}

// secretVars never reach a child's environment.
var secretVars = []string{"VNC_PASSWORD"}

// childEnv is the environment every child starts from: ours without the secrets.
func childEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		secret := false
		for _, s := range secretVars {
			secret = secret || k == s
		}
		if !secret {
			out = append(out, kv)
		}
	}
	return out
}

func setEnv(env []string, key, val string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+val)
}

func lookupEnv(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// GL returns the GL renderer probe's latest result, nil before its first and
// without X.
func (s *Session) GL() *glprobe.Result { return s.gl.Result() }

// GLRequired reports whether the probe's failure ends the session (XINIT_REQUIRE_GPU=1).
func (s *Session) GLRequired() bool { return s.gl.Required() }

// selfPath is this program, for the probe's argv: the same binary, so an image
// needs nothing more.
func selfPath() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "/proc/self/exe"
}
