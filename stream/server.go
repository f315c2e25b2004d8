package stream

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/xinit-go/xinit-go/internal/netguard"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"
)

// Injector puts a viewer's input on the display (xscreen.Input).
type Injector interface {
	// Move puts the pointer at fractions of the screen's width and height.
	Move(fx, fy float64) error
	Button(b int, down bool) error
	Key(keysym uint32, down bool) error
	// Release lets go of every key still pressed.
	Release()
}

// ServerOptions configure the WebSocket endpoint.
type ServerOptions struct {
	Hub   *Hub
	Input Injector
	// Password, when set, must be proven by the page before any picture or
	// input flows; it is kept only as a key derived from it.
	Password string
	Metrics  *Metrics
	Log      *zap.Logger
	// Bounds; 0 means the defaults: a 10 s login, 5 failed logins a minute,
	// a 5 s write, a 30 s ping interval.
	LoginTimeout time.Duration
	// Guesses is the record of password guesses per client address, shared
	// with the VNC bridge; nil means one of the endpoint's own.
	Guesses      *netguard.Guesses
	WriteTimeout time.Duration
	PingInterval time.Duration
}

// Server is the smooth view's WebSocket endpoint. It answers a WebSocket
// only: the Host, Origin and connection checks are the caller's, as for the
// noVNC bridge.
//
// The protocol, after the upgrade (subprotocol "xinit-view"):
//
//   - xinit-go sends {"type":"hello","auth":"pbkdf2-hmac-sha256" or "none",
//     "salt","nonce" (base64),"iterations"}.
//   - With a password the page answers {"type":"login","mac":base64} within
//     the login deadline (see auth.go); a wrong answer gets
//     {"type":"denied","reason"} and the connection closes, and too many
//     failures lock every login for a while.
//   - Then {"type":"welcome"}, a {"type":"config","codec"} before the first
//     picture and whenever the codec changes, and the pictures as binary
//     messages: one flags byte (1: keyframe), the time xinit-go had the
//     picture (Unix microseconds, 8 bytes big-endian), the access unit.
//   - {"type":"bye","reason"} when xinit-go stops.
//   - The page sends input as text: {"t":"m","x","y"} pointer at fractions of
//     the screen, {"t":"b","b","d"} button b down (d 1) or up, {"t":"k","s","d"}
//     keysym s, and {"t":"l","ms"} a latency report for /metrics.
type Server struct {
	o    ServerOptions
	log  *zap.Logger
	auth *authenticator

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewServer makes the endpoint.
func NewServer(o ServerOptions) (*Server, error) {
	if o.Hub == nil || o.Input == nil {
		return nil, errors.New("stream: ServerOptions.Hub and Input are required")
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.LoginTimeout <= 0 {
		o.LoginTimeout = 10 * time.Second
	}
	if o.Guesses == nil {
		o.Guesses = netguard.NewGuesses()
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 30 * time.Second
	}
	a, err := newAuthenticator(o.Password)
	if err != nil {
		return nil, fmt.Errorf("smooth view: make the login's salt: %w", err)
	}
	o.Password = "" // the authenticator keeps it until it has the key
	s := &Server{o: o, log: o.Log.Named("view"), auth: a}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Close ends every viewer's connection and waits for them.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

// Subprotocol is the WebSocket subprotocol of the smooth view.
const Subprotocol = "xinit-view"

type hello struct {
	Type       string `json:"type"`
	Auth       string `json:"auth"`
	Salt       string `json:"salt,omitempty"`
	Nonce      string `json:"nonce,omitempty"`
	Iterations int    `json:"iterations,omitempty"`
}

type message struct {
	Type   string `json:"type"`
	Reason string `json:"reason,omitempty"`
	Codec  string `json:"codec,omitempty"`
}

// input is a message from the page: a login or an event.
type input struct {
	Type string  `json:"type"`
	MAC  string  `json:"mac"`
	T    string  `json:"t"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	B    int     `json:"b"`
	D    int     `json:"d"`
	S    uint32  `json:"s"`
	MS   float64 `json:"ms"`
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.ctx.Err() != nil {
		http.Error(w, "xinit-go is stopping", http.StatusServiceUnavailable)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:    []string{Subprotocol},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		s.log.Debug("smooth view: WebSocket handshake failed", zap.Error(err))
		return
	}
	s.wg.Add(1)
	defer s.wg.Done()
	ws.SetReadLimit(64 << 10)
	log := s.log.With(zap.String("remote", r.RemoteAddr))
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	client, _, _ := net.SplitHostPort(r.RemoteAddr)
	if !s.login(ctx, ws, client, log) {
		return
	}
	start := time.Now()
	log.Info("smooth viewer connected")
	why := s.serve(ws, log)
	log.Info("smooth viewer left", zap.Duration("after", time.Since(start).Round(time.Millisecond)), zap.String("why", why))
}

func (s *Server) writeJSON(ctx context.Context, ws *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, s.o.WriteTimeout)
	defer cancel()
	return ws.Write(wctx, websocket.MessageText, b)
}

// login runs the challenge; it reports whether the viewer may watch, having
// closed the connection when not.
func (s *Server) login(ctx context.Context, ws *websocket.Conn, client string, log *zap.Logger) bool {
	logins := s.o.Metrics.logins
	if !s.auth.on {
		logins.WithLabelValues(loginNoneNeed).Inc()
		if err := s.writeJSON(ctx, ws, hello{Type: "hello", Auth: "none"}); err != nil {
			ws.CloseNow()
			return false
		}
		return true
	}
	deny := func(result, reason string, code websocket.StatusCode) bool {
		logins.WithLabelValues(result).Inc()
		_ = s.writeJSON(ctx, ws, message{Type: "denied", Reason: reason})
		ws.Close(code, reason)
		return false
	}
	// Counted as a wrong password from the challenge on, until its answer is
	// checked: parallel logins gain nothing, and one address cannot lock
	// another out.
	if wait := s.o.Guesses.Begin(client, time.Now()); wait > 0 {
		log.Warn("smooth view: login refused: too many wrong passwords or unfinished logins from this address", zap.Duration("wait", wait))
		return deny(loginLocked, fmt.Sprintf("too many wrong passwords or unfinished logins from this address; try again in %d s", int((wait+time.Second-1)/time.Second)), websocket.StatusPolicyViolation)
	}
	outcome := netguard.LoginBroken
	defer func() { s.o.Guesses.End(client, outcome, time.Now()) }()
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		ws.CloseNow()
		return false
	}
	enc := base64.StdEncoding
	h := hello{Type: "hello", Auth: "pbkdf2-hmac-sha256", Salt: enc.EncodeToString(s.auth.salt),
		Nonce: enc.EncodeToString(nonce), Iterations: Iterations}
	if err := s.writeJSON(ctx, ws, h); err != nil {
		ws.CloseNow()
		return false
	}
	// A read whose context ends closes the connection, so the deadline is a
	// timer beside the read: the page is told why before the close.
	type read struct {
		typ websocket.MessageType
		b   []byte
		err error
	}
	rc := make(chan read, 1)
	go func() {
		typ, b, err := ws.Read(ctx)
		rc <- read{typ, b, err}
	}()
	timer := time.NewTimer(s.o.LoginTimeout)
	defer timer.Stop()
	var got read
	select {
	case got = <-rc:
	case <-timer.C:
		log.Warn("smooth view: no login within the deadline", zap.Duration("deadline", s.o.LoginTimeout))
		deny(loginTimeout, "no login in time", websocket.StatusPolicyViolation)
		ws.CloseNow()
		<-rc
		return false
	}
	typ, b, err := got.typ, got.b, got.err
	if err != nil {
		ws.CloseNow()
		return false
	}
	var in input
	var mac []byte
	if typ == websocket.MessageText && json.Unmarshal(b, &in) == nil && in.Type == "login" {
		mac, _ = enc.DecodeString(in.MAC)
	}
	if !s.auth.check(nonce, mac) {
		outcome = netguard.LoginFailed
		log.Warn("smooth view: wrong password")
		return deny(loginFailed, "wrong password", websocket.StatusPolicyViolation)
	}
	outcome = netguard.LoginOK
	logins.WithLabelValues(loginOK).Inc()
	return true
}

// serve streams to a logged-in viewer and takes its input until either side
// ends or the server shuts down; it returns why.
func (s *Server) serve(ws *websocket.Conn, log *zap.Logger) string {
	// The connection's own context: a read or write whose context ends closes
	// the connection at once, and a shutdown closes it with a reason first.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.writeJSON(ctx, ws, message{Type: "welcome"}); err != nil {
		return "write: " + err.Error()
	}
	m := s.o.Metrics
	m.viewers.Inc()
	defer m.viewers.Dec()
	v := s.o.Hub.Join()
	defer v.Leave()
	defer s.o.Input.Release()

	done := make(chan string, 3)
	go func() { done <- s.send(ctx, ws, v) }()
	go func() { done <- s.receive(ctx, ws, log) }()
	go func() {
		t := time.NewTicker(s.o.PingInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				done <- ""
				return
			case <-t.C:
				pctx, pcancel := context.WithTimeout(ctx, s.o.PingInterval/2)
				err := ws.Ping(pctx)
				pcancel()
				if err != nil && ctx.Err() == nil {
					done <- "the browser stopped answering pings"
					return
				}
			}
		}
	}()
	var why string
	select {
	case why = <-done:
		cancel()
		ws.CloseNow() // ends the read and any write in flight
	case <-s.ctx.Done():
		why = "shutdown"
		// The page is told, but not waited for: a close handshake would wait
		// for a browser that may not answer.
		bctx, bcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_ = s.writeJSON(bctx, ws, message{Type: "bye", Reason: "xinit-go is stopping"})
		bcancel()
		cancel()
		ws.CloseNow()
		<-done
	}
	<-done
	<-done
	if skipped := v.Skipped(); skipped > 0 {
		log.Info("the viewer skipped pictures to keep up", zap.Int("skipped", skipped))
	}
	return why
}

// send writes the viewer's pictures as they come.
func (s *Server) send(ctx context.Context, ws *websocket.Conn, v *Viewer) string {
	m := s.o.Metrics
	sent, bytes := m.frames.WithLabelValues("sent"), m.bytes.WithLabelValues("sent")
	codec := ""
	var buf []byte
	for {
		fs, err := v.Next(ctx)
		if err != nil {
			return "shutdown"
		}
		for _, f := range fs {
			if f.Codec != codec && f.Codec != "" {
				codec = f.Codec
				if err := s.writeJSON(ctx, ws, message{Type: "config", Codec: codec}); err != nil {
					return "write: " + err.Error()
				}
			}
			if codec == "" {
				continue // no SPS seen yet: nothing a decoder could take
			}
			buf = frameMessage(buf[:0], f)
			wctx, cancel := context.WithTimeout(ctx, s.o.WriteTimeout)
			err := ws.Write(wctx, websocket.MessageBinary, buf)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return "shutdown"
				}
				return "write: " + err.Error()
			}
			sent.Inc()
			bytes.Add(float64(len(f.Data)))
		}
	}
}

// frameMessage is a picture's binary message.
func frameMessage(buf []byte, f *Frame) []byte {
	var flags byte
	if f.Key {
		flags |= 1
	}
	buf = append(buf, flags)
	buf = binary.BigEndian.AppendUint64(buf, uint64(f.At.UnixMicro()))
	return append(buf, f.Data...)
}

// receive injects the viewer's input.
func (s *Server) receive(ctx context.Context, ws *websocket.Conn, log *zap.Logger) string {
	m := s.o.Metrics
	in := s.o.Input
	warned := false
	for {
		typ, b, err := ws.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return "shutdown"
			}
			if websocket.CloseStatus(err) != -1 {
				return "the browser closed"
			}
			return "read: " + err.Error()
		}
		var ev input
		if typ != websocket.MessageText || json.Unmarshal(b, &ev) != nil {
			continue
		}
		var ierr error
		switch ev.T {
		case "m":
			m.input.WithLabelValues("motion").Inc()
			ierr = in.Move(ev.X, ev.Y)
		case "b":
			m.input.WithLabelValues("button").Inc()
			if ev.X != 0 || ev.Y != 0 {
				ierr = in.Move(ev.X, ev.Y)
			}
			if ierr == nil {
				ierr = in.Button(ev.B, ev.D != 0)
			}
		case "k":
			m.input.WithLabelValues("key").Inc()
			ierr = in.Key(ev.S, ev.D != 0)
		case "l":
			if ev.MS >= 0 && ev.MS < 60_000 && !math.IsNaN(ev.MS) {
				m.received.Inc()
				m.latency.add(time.Duration(ev.MS * float64(time.Millisecond)))
			}
		}
		if ierr != nil && !warned {
			log.Warn("smooth view: input not injected (said once per viewer)", zap.Error(ierr))
			warned = true
		}
	}
}
