package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/xinit-go/xinit-go/config"
	"github.com/xinit-go/xinit-go/health"
	"github.com/xinit-go/xinit-go/session"
	"github.com/xinit-go/xinit-go/supervisor"
	"github.com/xinit-go/xinit-go/web"
)

// browserView is the web view's wiring: the logic lives in package web.
type browserView struct{ s *web.Server }

// startWeb binds and starts the browser view when it is on; code is nonzero
// when the session must not start.
func startWeb(cfg *config.Config, sess *session.Session, status func() supervisor.Status, log *zap.Logger, stderr io.Writer) (browserView, int) {
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
	s, err := web.Listen(web.Options{
		Addr: cfg.WebAddr, VNCListen: cfg.VNCListen, Hosts: cfg.WebHosts, Root: root, TLSCert: cfg.WebTLSCert, TLSKey: cfg.WebTLSKey,
		VNCAddr: sess.VNCAddr, VNCService: session.VNCName, Password: cfg.VNCPassword != "",
		Status: status, Logger: log,
	})
	if err != nil {
		hint := "fix the setting it names, or turn the browser view off with XINIT_WEB_ADDR=off"
		if errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.EACCES) {
			hint = "choose a free port, e.g. XINIT_WEB_ADDR=:6081, or XINIT_WEB_ADDR=off"
		}
		fmt.Fprintf(stderr, "xinit-go: browser view: %v; %s; nothing was started\n", err, hint)
		return browserView{}, exitConfig
	}
	s.Start()
	return browserView{s}, 0
}

// attach adds the view to /readyz and /metrics.
func (v browserView) attach(hs *health.Server) {
	if v.s == nil || hs == nil {
		return
	}
	hs.AddReady("web", v.s.Ready)
	_ = hs.Register(v.s.Collectors()...)
}

func (v browserView) stop() {
	if v.s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	v.s.Shutdown(ctx)
}
