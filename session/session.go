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
	"github.com/xinit-go/xinit-go/supervisor"
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
	// BeforeFinish writes the screenshot, when one is configured.
	BeforeFinish func(ctx context.Context, reason string)
	// VNCAddr is where VNC listens, "" when off.
	VNCAddr string
	// XorgConfPath is the xorg.conf in use, "" under Xvfb.
	XorgConfPath string
	// XAuthority is the X authority file clients use, "" without X. The caller
	// sets XAUTHORITY to it in its own environment for the X protocol checks.
	XAuthority string

	user      *AppUser
	clientDir string
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
	s := &Session{Plan: plan}
	base := childEnv(env.Environ)
	restart := budgetOf(cfg)

	var specs []supervisor.Spec
	display := cfg.DisplayName()
	withX := plan.Backend != config.BackendNone
	if cfg.AppUser != "" {
		u, err := lookupUser(cfg.AppUser)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSetup, err)
		}
		s.user = u
	}
	if withX {
		if err := prepareRuntimeDir(cfg.RuntimeDir); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSetup, err)
		}
		s.clientDir = filepath.Join(cfg.RuntimeDir, "client")
		s.XAuthority = filepath.Join(s.clientDir, "Xauthority")
		if err := clientDir(s.clientDir, s.user); err != nil {
			return nil, fmt.Errorf("%w: XINIT_RUNTIME_DIR=%q: %v", ErrSetup, cfg.RuntimeDir, err)
		}
		if err := writeXauthority(s.XAuthority, cfg.Display); err != nil {
			return nil, fmt.Errorf("%w: write the X authority file: %v; check that XINIT_RUNTIME_DIR=%q is writable and not full", ErrSetup, err, cfg.RuntimeDir)
		}
		if err := chownTo(s.XAuthority, s.user); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSetup, err)
		}
		base = setEnv(base, "XAUTHORITY", s.XAuthority)
		xs, err := s.xSpec(cfg, plan, base, restart, log)
		if err != nil {
			return nil, err
		}
		specs = append(specs, xs)
		if cfg.VNC {
			vs, err := s.vncSpec(cfg, base, restart, log)
			if err != nil {
				return nil, err
			}
			specs = append(specs, vs)
		}
	}

	appEnv := append([]string(nil), base...)
	if withX {
		appEnv = setEnv(appEnv, "DISPLAY", display)
		if plan.NvidiaGLX && lookupEnv(env.Environ, "__GLX_VENDOR_LIBRARY_NAME") == "" {
			appEnv = setEnv(appEnv, "__GLX_VENDOR_LIBRARY_NAME", "nvidia")
		}
	}
	if len(cfg.App) > 0 {
		policy, _ := supervisor.ParsePolicy(cfg.AppRestart)
		r := restart
		r.Policy = policy
		if u := s.user; u != nil {
			appEnv = setEnv(appEnv, "HOME", u.Home)
			appEnv = setEnv(appEnv, "USER", u.Name)
			appEnv = setEnv(appEnv, "LOGNAME", u.Name)
		}
		app := supervisor.Spec{
			Name:       AppName,
			Argv:       cfg.App,
			Env:        appEnv,
			Credential: s.credential(),
			Role:       supervisor.Main,
			Stdin:      true,
			Restart:    r,
			Timeout:    cfg.AppTimeout,
		}
		if withX {
			app.After = []string{XName}
		}
		specs = append(specs, app)
	}
	for _, es := range cfg.Services {
		specs = append(specs, extraSpec(es, appEnv, restart, log))
	}
	s.Specs = specs

	if cfg.Screenshot != "" && withX {
		path := cfg.Screenshot
		slog := log.Named("screenshot")
		s.BeforeFinish = func(ctx context.Context, reason string) {
			start := time.Now()
			if err := WritePNG(ctx, cfg.Display, path); err != nil {
				slog.Warn("screenshot failed", zap.String("path", path), zap.Error(err))
				return
			}
			slog.Info("screenshot written", zap.String("path", path), zap.String("reason", reason), zap.Duration("took", time.Since(start)))
		}
	}
	return s, nil
}

func budgetOf(cfg *config.Config) supervisor.Restart {
	r := supervisor.Restart{Budget: cfg.RestartBudget, Window: cfg.RestartWindow, BackoffMax: cfg.RestartBackoff}
	if cfg.RestartBudget == 0 {
		r.Budget = supervisor.NoRestarts
	}
	return r
}

func (s *Session) xSpec(cfg *config.Config, plan *Plan, env []string, restart supervisor.Restart, log *zap.Logger) (supervisor.Spec, error) {
	xlog := log.Named("x")
	out := &ring{max: 200}
	errsOf := out.errors
	var argv []string
	res := cfg.Resolution()
	switch plan.Backend {
	case config.BackendXvfb:
		argv = []string{"Xvfb", cfg.DisplayName(), "-screen", "0", res,
			"+extension", "GLX", "+extension", "RANDR"}
	case config.BackendNvidia, config.BackendDummy:
		path := cfg.XorgConf
		if path == "" {
			path = filepath.Join(cfg.RuntimeDir, "xorg.conf")
			text, err := plan.XorgConf()
			if err != nil {
				return supervisor.Spec{}, err
			}
			if err := writeFileAtomic(path, text, 0o644); err != nil {
				return supervisor.Spec{}, fmt.Errorf("%w: write xorg.conf: %v; check that XINIT_RUNTIME_DIR=%q is writable and not full", ErrSetup, err, cfg.RuntimeDir)
			}
		} else if _, err := os.Stat(path); err != nil {
			return supervisor.Spec{}, fmt.Errorf("%w: XINIT_XORG_CONF=%q: %v", ErrSetup, path, err)
		}
		s.XorgConfPath = path
		logPath := filepath.Join(cfg.RuntimeDir, fmt.Sprintf("Xorg.%d.log", cfg.Display))
		argv = []string{"Xorg", cfg.DisplayName(), "-config", path, "-logfile", logPath,
			// Never take or switch a virtual terminal: there is none in a container,
			// and on a host it would steal the console.
			"-novtswitch", "-sharevts", "-keeptty"}
		errsOf = func() []string {
			if e := xorgLogErrors(logPath); len(e) > 0 {
				return e
			}
			return out.errors()
		}
	}
	argv = append(argv, "-displayfd", "3", "-auth", s.XAuthority, "-nolisten", "tcp", "-noreset", "-s", "0", "-dpms")
	argv = append(argv, cfg.XArgs...)
	r := restart
	r.Policy = supervisor.Always
	display := cfg.Display
	return supervisor.Spec{
		Name:         XName,
		Argv:         argv,
		Env:          env,
		Role:         supervisor.Required,
		Restart:      r,
		ReadyTimeout: cfg.XReady,
		PreStart: func(context.Context) error {
			out.reset()
			return clearStaleLock(LockDir, SocketDir, display)
		},
		Ready: displayFDProbe(display, errsOf, func(ctx context.Context) error {
			err := checkScreen(ctx, display, cfg.Width, cfg.Height)
			if err != nil && ctx.Err() == nil {
				return supervisor.Permanent(err)
			}
			return err
		}),
		Output: func(line string) {
			out.add(line)
			xlog.Info(line)
		},
	}, nil
}

func (s *Session) vncSpec(cfg *config.Config, env []string, restart supervisor.Restart, log *zap.Logger) (supervisor.Spec, error) {
	vlog := log.Named("vnc")
	auth := ""
	if cfg.VNCPassword != "" {
		auth = filepath.Join(s.clientDir, "vncpasswd")
		if err := WriteRFBAuth(auth, cfg.VNCPassword); err != nil {
			return supervisor.Spec{}, fmt.Errorf("%w: write the VNC password file: %v; check that XINIT_RUNTIME_DIR=%q is writable", ErrSetup, err, cfg.RuntimeDir)
		}
		if err := chownTo(auth, s.user); err != nil {
			return supervisor.Spec{}, fmt.Errorf("%w: %v", ErrSetup, err)
		}
		if len(cfg.VNCPassword) > 8 {
			vlog.Warn("the VNC password is longer than 8 characters; VNC uses only the first 8", zap.Int("length", len(cfg.VNCPassword)))
		}
	} else {
		vlog.Warn(fmt.Sprintf("no VNC password: VNC listens on 127.0.0.1:%d only; reach it with kubectl port-forward or an ssh tunnel, or set VNC_PASSWORD (or XINIT_VNC_PASSWORD_FILE) to listen on every interface", cfg.VNCPort))
	}
	listen := cfg.VNCListen
	addr := probeAddr(listen, cfg.VNCPort)
	s.VNCAddr = addr
	if auth != "" && (listen == "" || listen == "0.0.0.0") {
		s.VNCAddr = fmt.Sprintf("0.0.0.0:%d", cfg.VNCPort)
	}
	r := restart
	r.Policy = supervisor.Always
	var dead []int // x11vnc pids whose shared memory may still be around
	return supervisor.Spec{
		Name:         VNCName,
		Credential:   s.credential(),
		Argv:         vncArgs(cfg.Display, cfg.VNCPort, listen, auth),
		Env:          setEnv(env, "DISPLAY", cfg.DisplayName()),
		After:        []string{XName},
		Role:         supervisor.Required,
		Restart:      r,
		ReadyTimeout: 20 * time.Second,
		Ready:        rfbProbe(addr),
		// The X server may still hold x11vnc's segments for a moment after it died:
		// what the exit leaves is retried before the next start.
		Exited: func(pid int) { dead = append(dead, pid); dead = sweepShm(dead, vlog) },
		PreStart: func(context.Context) error {
			dead = sweepShm(dead, vlog)
			return nil
		},
		Output: vncOutput(vlog),
	}, nil
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
	policy, _ := supervisor.ParsePolicy(es.Restart)
	r := restart
	r.Policy = policy
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

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// sweepShm removes the orphaned segments of dead x11vnc processes and returns the
// pids that still have segments attached somewhere.
func sweepShm(pids []int, log *zap.Logger) []int {
	var left []int
	for _, pid := range pids {
		if n := removeOrphanShm(pid); n > 0 {
			log.Debug("removed the shared memory x11vnc left", zap.Int("pid", pid), zap.Int("segments", n))
		}
		if shmOf(pid) > 0 {
			left = append(left, pid)
		}
	}
	return left
}
