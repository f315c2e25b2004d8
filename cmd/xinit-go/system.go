package main

import (
	"errors"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/xinit-go/xinit-go/config"
	"github.com/xinit-go/xinit-go/exitcode"
	"github.com/xinit-go/xinit-go/gpu"
	"github.com/xinit-go/xinit-go/session"
)

// system is everything run takes from outside the process: the environment, the
// GPU library, the GLX loader check and signal delivery. run changes no global
// state, so tests give it a system of their own and run in parallel.
type system struct {
	environ []string
	gpu     gpu.Source
	glx     func() (bool, string)
	vulkan  func(environ []string) gpu.Vulkan
	// notify subscribes a channel to signals, as signal.Notify does. Nil for
	// tests that start no session.
	notify func(c chan<- os.Signal, sig ...os.Signal)
	// egl and vulkanICD load NVIDIA's EGL and Vulkan drivers for check; nil
	// means the real ones.
	egl       func(environ []string) gpu.Loadable
	vulkanICD func(manifest string) gpu.Loadable
	// signals, when set, was subscribed by main before anything else (see
	// catchSignals); nil: runSession subscribes.
	signals chan os.Signal
}

// host is the real system.
func host() system {
	return system{environ: os.Environ(), gpu: gpu.NVML{}, glx: gpu.GLXLoadable, vulkan: gpu.FindVulkan, notify: signal.Notify}
}

// lookup looks a variable up in the system's environment, telling an empty
// variable from an unset one (an empty one overrides the TOML file); the last
// one wins, as in the C library.
func (s system) lookup(key string) (v string, ok bool) {
	for _, kv := range s.environ {
		if rest, found := strings.CutPrefix(kv, key); found && strings.HasPrefix(rest, "=") {
			v, ok = rest[1:], true
		}
	}
	return v, ok
}

func (s system) getenv(key string) string { v, _ := s.lookup(key); return v }

func (s system) sessionEnv() session.Env {
	return session.Env{GPU: s.gpu, Host: gpu.Host{Getenv: s.getenv}, GLX: s.glx, Vulkan: s.vulkan, Environ: s.environ}
}

// lifeSignals are the signals xinit-go handles for its whole life, from the first
// instruction of a session to its exit: without a handler, SIGTERM, SIGINT and
// SIGHUP would take Go's default action (exit 2) during set-up or shutdown.
// Handled (not ignored) signals are reset to their defaults in every child at
// exec.
var lifeSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// catchSignals subscribes a channel to lifeSignals; the supervisor adds what it
// needs to the same channel and reads it.
//
// SIGPIPE is handled too, or a closed log reader would kill PID 1 (Go's default
// for a write to a broken standard output or error), but into a channel of its
// own that nobody reads: the signal module drops what does not fit. Every failed
// write raises a SIGPIPE, and on the supervisor's channel each one woke the loop,
// which logged it, which raised the next one; that endless pair filled the
// channel, and the SIGCHLD of the app's exit, dropped on a full channel, never
// came: xinit-go waited forever with the exit code in hand.
func (s system) catchSignals() chan os.Signal {
	if s.notify == nil {
		return nil
	}
	s.notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	c := make(chan os.Signal, 128)
	s.notify(c, lifeSignals...)
	return c
}

// Exit codes of the contract, beside the app's own and the supervisor's
// (supervisor.ExitFailed, ExitTimeout, ExitCannotRun, ExitNotFound).
const (
	exitUnavailable = exitcode.Unavailable // the requested backend cannot run here
	exitConfig      = exitcode.Config      // bad configuration: nothing was started
)

// exitCode is the one place that maps an error from before the supervisor runs
// to the contract's code.
func exitCode(err error) int {
	var ce *config.Error
	switch {
	case err == nil:
		return 0
	case errors.Is(err, gpu.ErrUnavailable):
		return exitUnavailable
	case errors.As(err, &ce), errors.Is(err, session.ErrSetup):
		return exitConfig
	}
	return exitConfig
}
