package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"

	"github.com/xinit-go/xinit-go/supervisor"
)

// readLimit bounds one message from the viewer: RFB client messages are small,
// a clipboard text the largest.
const readLimit = 1 << 20

// sameOrigin is the Origin check: a request without Origin comes from no
// browser page (a native client); one with it must name this very host, so a
// page on another site cannot drive the bridge with the visitor's network access.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// vncReady reads the supervisor's snapshot: is x11vnc up now?
func (s *Server) vncReady() (bool, string) {
	st := s.o.Status()
	if st.Stopping {
		return false, "the session is stopping"
	}
	for _, sv := range st.Services {
		if sv.Name == s.o.VNCService {
			if sv.State == supervisor.Ready {
				return true, ""
			}
			return false, fmt.Sprintf("VNC is %s", sv.State)
		}
	}
	return false, "VNC is not running"
}

// bridge joins a WebSocket from the page to a new TCP connection to our x11vnc.
func (s *Server) bridge(w http.ResponseWriter, r *http.Request) {
	log := s.log.With(zap.String("remote", r.RemoteAddr))
	if !s.webSocketFromOurPage(w, r, log, "browser view") {
		return
	}
	client, _, _ := net.SplitHostPort(r.RemoteAddr)
	if wait := s.guesses.Begin(client, time.Now()); wait > 0 {
		s.m.rejected.WithLabelValues(rejectGuesses).Inc()
		log.Warn("browser view: too many wrong VNC passwords or unfinished logins from this address; it must wait", zap.Duration("wait", wait))
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		http.Error(w, "too many wrong passwords or unfinished logins from this address: try again later", http.StatusTooManyRequests)
		return
	}
	// The login's outcome is recorded once it is known (or when the viewer is
	// turned away before one), not when the viewer leaves.
	outcome, recorded := loginBroken, false
	record := func() {
		if !recorded {
			recorded = true
			s.guesses.End(client, outcome, time.Now())
		}
	}
	defer record()
	if !s.takeViewerSlot(w, log, "browser view") {
		return
	}
	defer s.leaveViewerSlot()
	if ok, why := s.vncReady(); !ok {
		s.m.rejected.WithLabelValues(rejectNotReady).Inc()
		w.Header().Set("Retry-After", "1")
		http.Error(w, why, http.StatusServiceUnavailable)
		return
	}
	dctx, cancel := context.WithTimeout(r.Context(), s.o.DialTimeout)
	var d net.Dialer
	vnc, err := d.DialContext(dctx, "tcp", s.o.VNCAddr)
	cancel()
	if err != nil {
		s.m.rejected.WithLabelValues(rejectUnreachable).Inc()
		log.Warn("browser view: VNC unreachable", zap.String("vnc", s.o.VNCAddr), zap.Error(err))
		w.Header().Set("Retry-After", "1")
		http.Error(w, "VNC is unreachable", http.StatusServiceUnavailable)
		return
	}
	defer vnc.Close()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:    []string{"binary"},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		s.m.rejected.WithLabelValues(rejectHandshake).Inc()
		log.Debug("browser view: WebSocket handshake failed", zap.Error(err))
		return
	}
	ws.SetReadLimit(readLimit)
	s.wg.Add(1)
	defer s.wg.Done()
	ctx, cancelConn := context.WithCancel(s.ctx)
	defer cancelConn()
	conn := websocket.NetConn(ctx, ws, websocket.MessageBinary)
	defer conn.Close()

	// The login holds a viewer slot: it gets LoginTimeout, then both ends close.
	timer := time.AfterFunc(s.o.LoginTimeout, func() {
		ws.CloseNow()
		vnc.Close()
	})
	outcome, err = relayLogin(conn, vnc)
	if !timer.Stop() {
		s.m.rejected.WithLabelValues(rejectLoginTimeout).Inc()
		log.Warn("browser view: the VNC login did not finish in time; the viewer was closed", zap.Duration("timeout", s.o.LoginTimeout))
		outcome = loginBroken
		return
	}
	record()
	switch outcome {
	case loginFailed:
		s.m.rejected.WithLabelValues(rejectPassword).Inc()
		log.Warn("browser view: wrong VNC password")
		ws.Close(websocket.StatusNormalClosure, "authentication failed")
		return
	case loginBroken:
		s.m.rejected.WithLabelValues(rejectHandshake).Inc()
		log.Info("browser view: the VNC login ended early", zap.Error(err))
		ws.CloseNow()
		return
	}
	s.m.conns.Inc()
	s.m.active.Inc()
	defer s.m.active.Dec()
	start := time.Now()
	log.Info("browser viewer connected")
	toBrowser, fromBrowser, why := s.pipe(ctx, cancelConn, ws, conn, vnc)
	log.Info("browser viewer left", zap.Duration("after", time.Since(start).Round(time.Millisecond)),
		zap.Int64("bytes_to_browser", toBrowser), zap.Int64("bytes_from_browser", fromBrowser), zap.String("why", why))
}

// pipe copies both ways until one side ends, the pings go unanswered, or the
// server shuts down; it returns the bytes each way and why it ended.
func (s *Server) pipe(ctx context.Context, cancel context.CancelFunc, ws *websocket.Conn, conn, vnc net.Conn) (toBrowser, fromBrowser int64, why string) {
	type result struct {
		n   int64
		err error
		dir string
	}
	done := make(chan result, 3)
	go func() {
		n, err := io.Copy(&counter{w: conn, c: s.m.bytes.WithLabelValues("to_browser")}, vnc)
		done <- result{n, err, "VNC closed"}
	}()
	go func() {
		n, err := io.Copy(&counter{w: vnc, c: s.m.bytes.WithLabelValues("from_browser")}, conn)
		done <- result{n, err, "the browser closed"}
	}()
	go func() {
		t := time.NewTicker(s.o.PingInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				done <- result{dir: "shutdown"}
				return
			case <-t.C:
				pctx, pcancel := context.WithTimeout(ctx, s.o.PingInterval/2)
				err := ws.Ping(pctx)
				pcancel()
				if err != nil && ctx.Err() == nil {
					done <- result{err: err, dir: "the browser stopped answering pings"}
					return
				}
			}
		}
	}()
	results := []result{<-done}
	first := results[0]
	why = first.dir
	if first.err != nil && !errors.Is(first.err, io.EOF) && ctx.Err() == nil {
		why += ": " + first.err.Error()
	}
	switch {
	case s.ctx.Err() != nil:
		why = "shutdown"
		ws.Close(websocket.StatusGoingAway, "xinit-go is stopping")
	case first.dir == "VNC closed":
		ws.Close(websocket.StatusTryAgainLater, "VNC closed the connection")
	}
	// Unblock the others: closing both ends stops the copies and the pings.
	cancel()
	vnc.Close()
	conn.Close()
	results = append(results, <-done, <-done)
	for _, r := range results {
		switch r.dir {
		case "VNC closed":
			toBrowser = r.n
		case "the browser closed":
			fromBrowser = r.n
		}
	}
	return toBrowser, fromBrowser, why
}

type counter struct {
	w io.Writer
	c interface{ Add(float64) }
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.c.Add(float64(n))
	return n, err
}

// webSocketFromOurPage answers (and returns false) a request that is not a
// WebSocket upgrade, or that comes from another site's page: the checks every
// viewer endpoint makes first. what names the endpoint in the log.
func (s *Server) webSocketFromOurPage(w http.ResponseWriter, r *http.Request, log *zap.Logger, what string) bool {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		// Not a WebSocket: answer before touching anything behind it.
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "a WebSocket endpoint: open / in a browser", http.StatusUpgradeRequired)
		return false
	}
	if !sameOrigin(r) {
		s.m.rejected.WithLabelValues(rejectOrigin).Inc()
		log.Warn(what+": refused a viewer from another origin", zap.String("origin", r.Header.Get("Origin")), zap.String("host", r.Host))
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return false
	}
	return true
}

// takeViewerSlot takes one of the MaxViewers slots the bridge and the smooth
// view share, or answers 503 and returns false. leaveViewerSlot gives it back.
func (s *Server) takeViewerSlot(w http.ResponseWriter, log *zap.Logger, what string) bool {
	select {
	case s.viewers <- struct{}{}:
		return true
	default:
		s.m.rejected.WithLabelValues(rejectLimit).Inc()
		log.Warn(what+": too many viewers", zap.Int("max", s.o.MaxViewers))
		w.Header().Set("Retry-After", "5")
		http.Error(w, "too many viewers", http.StatusServiceUnavailable)
		return false
	}
}

func (s *Server) leaveViewerSlot() { <-s.viewers }
