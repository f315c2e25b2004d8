package stream

import (
	"context"
	"github.com/xinit-go/xinit-go/internal/netguard"
	"net/http"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/xinit-go/xinit-go/internal/prom"
	"github.com/xinit-go/xinit-go/xscreen"
)

// Options configure the smooth view.
type Options struct {
	// Display is the session's display, cookie included (for XTEST).
	Display       xscreen.Display
	Width, Height int
	FPS           int
	// Env is ffmpeg's environment (PATH, XAUTHORITY, HOME); Credential runs it
	// as the app user.
	Env        []string
	Credential *syscall.Credential
	// Password is VNC's; "" means no login (the view then listens on
	// localhost only: the caller's rule, as for VNC).
	Password string
	// Guesses is the record of password guesses per client address, shared
	// with the VNC bridge; nil means one of the view's own.
	Guesses *netguard.Guesses
	// CanStart: nil once the X server is ready and while the session runs.
	CanStart func() error
	Log      *zap.Logger
}

// View is the smooth view: the encoder, the hub, the input and the endpoint.
type View struct {
	m      *Metrics
	hub    *Hub
	enc    *Encoder
	srv    *Server
	in     *xscreen.Input
	cancel context.CancelFunc
	done   chan struct{}
}

// New prepares the view; nothing runs until Start, and ffmpeg not until a
// viewer comes. It fails when ffmpeg is not installed.
func New(o Options) (*View, error) {
	v := &View{m: NewMetrics(), done: make(chan struct{})}
	v.hub = NewHub(HubOptions{
		OnFirst: func() { v.enc.Want(true) },
		OnLast:  func() { v.enc.Want(false) },
		OnSkip:  func(n int) { v.m.frames.WithLabelValues("skipped").Add(float64(n)) },
	})
	enc, err := NewEncoder(EncoderOptions{
		Display: o.Display.String(), Width: o.Width, Height: o.Height, FPS: o.FPS,
		Env: o.Env, Credential: o.Credential, CanStart: o.CanStart, Hub: v.hub, Metrics: v.m, Log: o.Log,
	})
	if err != nil {
		return nil, err
	}
	v.enc = enc
	v.in = xscreen.NewInput(o.Display, 500*time.Millisecond)
	v.srv, err = NewServer(ServerOptions{Hub: v.hub, Input: v.in, Password: o.Password, Guesses: o.Guesses, Metrics: v.m, Log: o.Log})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Handler is the WebSocket endpoint.
func (v *View) Handler() http.Handler { return v.srv }

// Collectors are the view's metrics.
func (v *View) Collectors() []prom.Collector { return v.m.Collectors() }

// Start runs the encoder's loop.
func (v *View) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	v.cancel = cancel
	go func() {
		defer close(v.done)
		v.enc.Run(ctx)
	}()
}

// Close ends every viewer, stops ffmpeg and waits for both.
func (v *View) Close() {
	v.srv.Close()
	if v.cancel != nil {
		v.cancel()
		<-v.done
	}
	v.in.Close()
}
