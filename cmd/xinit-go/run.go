package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/xinit-go/xinit-go/config"
	"github.com/xinit-go/xinit-go/health"
	"github.com/xinit-go/xinit-go/internal/buildinfo"
	"github.com/xinit-go/xinit-go/internal/logsink"
	"github.com/xinit-go/xinit-go/session"
	"github.com/xinit-go/xinit-go/supervisor"
)

// version is set with -ldflags "-X main.version=v1.2.3".
var version = ""

func versionString() string { return buildinfo.Read(version).Version }

// isSession reports whether args start a session rather than a subcommand (a
// subcommand keeps Go's default signal actions: Ctrl-C ends xinit-go check).
func isSession(args []string) bool {
	if len(args) == 0 {
		return true
	}
	return !slices.Contains(subcommands, args[0]) && args[0] != "probe-gl" && args[0] != "--version"
}

// run is the whole program; only it turns errors into exit codes.
func run(ctx context.Context, args []string, sys system, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "check":
			return runCheck(args[1:], sys, stdout, stderr)
		case "xorgconf":
			return runXorgConf(args[1:], sys, stdout, stderr)
		case "health":
			return runHealth(ctx, args[1:], sys, stdout, stderr)
		case "probe-gl":
			return runProbeGL(ctx, args[1:], sys, stdout, stderr)
		case "summary":
			return runSummary(args[1:], stdout, stderr)
		case "version", "--version":
			return runVersion(args[1:], sys, stdout, stderr)
		case "help":
			config.Usage(stdout)
			return 0
		}
		if unknownCommand(args, sys.getenv, stderr) {
			return exitNotFound
		}
	}
	return runSession(ctx, args, sys, stderr)
}

// loadConfig loads the configuration and reports problems the same way for every
// subcommand. done is true when the caller should return code at once.
func loadConfig(args []string, sys system, stdout, stderr io.Writer) (cfg *config.Config, code int, done bool) {
	cfg, err := config.LoadLookup(args, sys.lookup, config.DefaultFile)
	if errors.Is(err, config.ErrHelp) {
		config.Usage(stdout)
		return nil, 0, true
	}
	if err != nil {
		fmt.Fprintln(stderr, "xinit-go: invalid configuration; nothing was started:")
		var ce *config.Error
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				fmt.Fprintln(stderr, "  - "+strings.ReplaceAll(p.Error(), "\n", "\n    "))
			}
		} else {
			fmt.Fprintln(stderr, "  - "+err.Error())
		}
		return nil, exitConfig, true
	}
	return cfg, 0, false
}

func runSession(ctx context.Context, args []string, sys system, stderr io.Writer) int {
	// First of all: from here to the exit, a signal is an event, never Go's
	// default action.
	sigs := sys.signals
	if sigs == nil {
		sigs = sys.catchSignals()
	}
	// Then: from here to the exit nothing waits on whoever reads standard error
	// (a reader that is gone or never reads loses lines, not the exit code).
	tty := stderr
	sink := logsink.New(stderr, 0)
	// exitBy is when the exit must be done, set when the session's stop is over:
	// the stop bound's last supervisor.ExitReserve, in which the servers close
	// and the log's last lines go out. An exit before that gets logFlush, counted
	// from the exit, not from now.
	var exitBy time.Time
	defer func() {
		if exitBy.IsZero() {
			exitBy = time.Now().Add(logFlush)
		}
		sink.Close(exitBy)
	}()
	stderr = sink
	cfg, code, done := loadConfig(args, sys, stderr, stderr)
	if done {
		return code
	}
	log, err := newLogger(cfg, tty, sink)
	if err != nil {
		fmt.Fprintln(stderr, "xinit-go:", err)
		return exitConfig
	}
	log.Info("xinit-go starting", zap.String("version", versionString()), zap.Int("pid", os.Getpid()),
		zap.String("backend", string(cfg.Backend)), zap.Strings("app", cfg.App))

	env := sys.sessionEnv()
	plan, err := session.Decide(cfg, env)
	if err != nil {
		log.Error("backend unavailable; nothing was started", zap.Error(err))
		fmt.Fprintln(stderr, "xinit-go:", err)
		return exitCode(err)
	}
	log.Info("backend chosen", zap.String("backend", string(plan.Backend)), zap.String("why", plan.Why),
		zap.Strings("busids", plan.BusIDs))
	log.Info("vulkan", zap.Bool("layer", plan.Vulkan.Layer), zap.String("why", plan.Vulkan.Why))

	sess, err := session.Build(cfg, plan, env, log)
	if err != nil {
		log.Error("cannot prepare the session; nothing was started", zap.Error(err))
		fmt.Fprintln(stderr, "xinit-go:", err)
		return exitCode(err)
	}
	ex, err := newExtras(ctx, cfg, plan, sess, sys, log)
	if err != nil {
		log.Error("cannot prepare the recording; nothing was started", zap.Error(err))
		fmt.Fprintln(stderr, "xinit-go:", err)
		return exitCode(err)
	}
	sup, err := supervisor.New(sess.Specs, supervisor.Options{
		Logger:       log,
		Forward:      cfg.Forward,
		StopGrace:    cfg.StopGrace,
		BeforeFinish: sess.BeforeFinish,
		Signals:      sigs,
	})
	if err != nil {
		fmt.Fprintln(stderr, "xinit-go: invalid services; nothing was started:", err)
		return exitConfig
	}
	info := healthInfo(cfg, plan, sess)
	info.GL = glStatus(sess)
	ex.attach(sup, &info)
	wv, code := startWeb(cfg, sess, sup.Status, sys.getenv, log, stderr)
	if code != 0 {
		return code
	}
	// What closes at the exit, last first, all of it by the deadline that
	// leaves the log its flush: a viewer or a probe holding a connection
	// open cannot hold the exit past the stop bound.
	var closers []func(by time.Time)
	defer func() { closeAll(closers, exitBy) }()
	closers = append(closers, wv.stop)
	if cfg.HealthAddr != "" {
		ho := health.Options{Addr: cfg.HealthAddr, Hosts: cfg.WebHosts}
		if plan.Backend != config.BackendNone {
			// The session made the private runtime directory: the probe's
			// reserved socket lives there.
			ho.Socket = health.SocketPath(cfg.RuntimeDir)
		}
		hs, err := health.Listen(ho, sup.Status, info, log)
		if err != nil {
			fmt.Fprintf(stderr, "xinit-go: XINIT_HEALTH_ADDR=%q: %v; choose a free port, e.g. XINIT_HEALTH_ADDR=:9811, or off\n", cfg.HealthAddr, err)
			return exitConfig
		}
		wv.attach(hs)
		hs.Start()
		// The stop's bound has been spent by the time Run returns: the health
		// server gets a moment to answer, not a graceful drain.
		closers = append(closers, func(by time.Time) { hs.Close(min(100*time.Millisecond, time.Until(by))) })
	}
	ex.start()
	code = ex.finish(sup.Run(ctx), sup.Status(), info)
	exitBy = time.Now().Add(supervisor.ExitReserve)
	return code
}

// closeAll runs the closers, last first, on a goroutine of their own, and
// waits for them until logFlush before exitBy (one second from now when exitBy
// is not set: an exit before the session ran). What has not closed by then is
// left to the process's exit.
func closeAll(closers []func(by time.Time), exitBy time.Time) {
	by := exitBy.Add(-logFlush)
	if exitBy.IsZero() {
		by = time.Now().Add(time.Second)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i](by)
		}
	}()
	t := time.NewTimer(time.Until(by))
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

func healthInfo(cfg *config.Config, plan *session.Plan, sess *session.Session) health.Info {
	info := health.Info{Version: versionString(), Backend: string(plan.Backend), Why: plan.Why, NvidiaGLX: plan.NvidiaGLX, VNC: sess.VNCAddr,
		VulkanLayer: plan.Vulkan.Layer, Vulkan: plan.Vulkan.Why, Vital: sess.Vital}
	if plan.Backend != config.BackendNone {
		info.Display = cfg.DisplayName()
		info.Resolution = cfg.Resolution()
	}
	for _, d := range plan.GPUs {
		g := health.GPU{Index: d.Index, Name: d.Name, UUID: d.UUID, BusID: d.BusID.String()}
		if plan.Info != nil {
			g.Driver = plan.Info.Driver
		}
		info.GPUs = append(info.GPUs, g)
	}
	return info
}

// logFlush bounds the wait for the log's last lines at exit: a reader that does
// not take them in that time loses them. It is the end of the stop bound's
// supervisor.ExitReserve; the servers close in what comes before it.
const logFlush = 250 * time.Millisecond

// newLogger writes to sink; w is the stream behind it, which decides the format
// when it is a terminal.
func newLogger(cfg *config.Config, w io.Writer, sink *logsink.Sink) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	format := cfg.LogFormat
	f, isFile := w.(*os.File)
	tty := isFile && isTerminal(f)
	if format == "auto" {
		format = "json"
		if tty {
			format = "console"
		}
	}
	ec := zap.NewProductionEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	ec.TimeKey = "time"
	var enc zapcore.Encoder
	if format == "console" {
		ec.EncodeLevel = zapcore.CapitalLevelEncoder
		if tty {
			ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		enc = zapcore.NewJSONEncoder(ec)
	}
	// The sink is safe for concurrent use and never blocks: no lock around it.
	core := zapcore.NewCore(enc, sink, level)
	notice := enc.Clone()
	sink.SetNotice(func(n int) []byte {
		b, err := notice.EncodeEntry(zapcore.Entry{Level: zapcore.WarnLevel, Time: time.Now(), LoggerName: "xinit-go",
			Message: "log lines dropped: the log reader did not keep up"}, []zapcore.Field{zap.Int("dropped", n)})
		if err != nil {
			return []byte("xinit-go: log lines dropped\n")
		}
		defer b.Free()
		return append([]byte(nil), b.Bytes()...)
	})
	return zap.New(core).Named("xinit-go"), nil
}
