package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/xinit-go/xinit-go/internal/netguard"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/xinit-go/xinit-go/config"
	"github.com/xinit-go/xinit-go/health"
	"github.com/xinit-go/xinit-go/session"
	"github.com/xinit-go/xinit-go/stream"
	"github.com/xinit-go/xinit-go/supervisor"
	"github.com/xinit-go/xinit-go/web"
)

// browserView is the web view's wiring: the logic lives in packages web and
// stream.
type browserView struct {
	s      *web.Server
	smooth *stream.View
}

// startWeb binds and starts the browser view when it is on; code is nonzero
// when the session must not start.
func startWeb(cfg *config.Config, sess *session.Session, status func() supervisor.Status, getenv func(string) string, log *zap.Logger, stderr io.Writer) (browserView, int) {
	if !cfg.WebOn() || sess.VNCAddr == "" {
		return browserView{}, 0
	}
	root := cfg.WebRoot
	if root == "" {
		root = config.DefaultWebRoot
		if _, err := os.Stat(filepath.Join(root, config.WebClientFile)); err != nil {
			log.Warn("the browser view is off: noVNC's files are not installed; install Debian's novnc package, or set XINIT_WEB_ROOT to a copy of noVNC, or XINIT_WEB_ADDR=off to silence this",
				zap.String("web_root", root))
			return browserView{}, 0
		}
	}
	// One record of password guesses for both endpoints that check the password:
	// two endpoints give no more guesses than one.
	guesses := netguard.NewGuesses()
	smooth := newSmooth(cfg, sess, status, getenv, guesses, log)
	opts := web.Options{Guesses: guesses,
		Addr: cfg.WebAddr, VNCListen: cfg.VNCListen, Hosts: cfg.WebHosts, Root: root, TLSCert: cfg.WebTLSCert, TLSKey: cfg.WebTLSKey,
		VNCAddr: sess.VNCAddr, VNCService: session.VNCName, Password: cfg.VNCPassword != "",
		Status: status, Logger: log,
	}
	if smooth != nil {
		opts.Smooth = smooth.Handler()
	}
	s, err := web.Listen(opts)
	if err != nil {
		if smooth != nil {
			smooth.Close()
		}
		hint := "fix the setting it names, or turn the browser view off with XINIT_WEB_ADDR=off"
		if errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.EACCES) {
			hint = "choose a free port, e.g. XINIT_WEB_ADDR=:6081, or XINIT_WEB_ADDR=off"
		}
		fmt.Fprintf(stderr, "xinit-go: browser view: %v; %s; nothing was started\n", err, hint)
		return browserView{}, exitConfig
	}
	if smooth != nil {
		smooth.Start()
	}
	s.Start()
	return browserView{s, smooth}, 0
}

// newSmooth prepares the smooth view when it is on and ffmpeg is installed.
func newSmooth(cfg *config.Config, sess *session.Session, status func() supervisor.Status, getenv func(string) string, guesses *netguard.Guesses, log *zap.Logger) *stream.View {
	if !cfg.View {
		return nil
	}
	v, err := stream.New(stream.Options{
		Display: sess.Display(), Width: cfg.Width, Height: cfg.Height, FPS: cfg.ViewFPS,
		Env:        []string{"PATH=" + getenv("PATH"), "XAUTHORITY=" + sess.XAuthority, "HOME=/"},
		Credential: sess.AppCredential(), Password: cfg.VNCPassword, Guesses: guesses,
		CanStart: func() error { return xReady(status()) }, Log: log,
	})
	if err != nil {
		log.Warn("the smooth view is off: "+err.Error()+"; install ffmpeg, or set XINIT_VIEW=off to silence this; noVNC stays on /", zap.Error(err))
		return nil
	}
	return v
}

// xReady is nil while the session runs and its X server is ready: the smooth
// view's ffmpeg may run then (the supervisor, which reaps it, runs too).
func xReady(st supervisor.Status) error {
	if st.Stopping {
		return errors.New("the session is stopping")
	}
	for _, sv := range st.Services {
		if sv.Name == session.XName {
			if sv.State == supervisor.Ready {
				return nil
			}
			return fmt.Errorf("the X server is %s", sv.State)
		}
	}
	return errors.New("no X server")
}

// attach adds the view to /readyz and /metrics.
func (v browserView) attach(hs *health.Server) {
	if v.s == nil || hs == nil {
		return
	}
	hs.AddReady("web", v.s.Ready)
	_ = hs.Register(v.s.Collectors()...)
	if v.smooth != nil {
		_ = hs.Register(v.smooth.Collectors()...)
	}
}

// stop closes the browser view: its smooth view's viewers and encoder, then
// its server, whose requests in flight get until by.
func (v browserView) stop(by time.Time) {
	if v.s == nil {
		return
	}
	if v.smooth != nil {
		v.smooth.Close()
	}
	ctx, cancel := context.WithDeadline(context.Background(), by)
	defer cancel()
	v.s.Shutdown(ctx)
}
