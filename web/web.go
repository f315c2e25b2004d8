package web

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/xinit-go/xinit-go/internal/netguard"
	"github.com/xinit-go/xinit-go/supervisor"
)

// Defaults of Options' bounds.
const (
	DefaultMaxViewers   = 16
	DefaultMaxConns     = 128
	DefaultLoginTimeout = 10 * time.Second
	// maxPerClient bounds one client address's connections: a browser opens
	// six or so, and the page's module loads reuse them.
	maxPerClient = 32
	idleTimeout  = 10 * time.Second
	// A request must arrive, and an answer be taken, within these: a client
	// that stops reading cannot hold a connection (and its slot) for good.
	// A WebSocket is hijacked before either runs out, which clears them.
	readTimeout  = 10 * time.Second
	writeTimeout = 30 * time.Second
)

// Options configure the browser view.
type Options struct {
	// Addr is the listen address (HOST:PORT or :PORT).
	Addr string
	// VNCListen is XINIT_VNC_LISTEN: an address without a host listens there
	// too (see ListenAddr).
	VNCListen string
	// Hosts are names the view answers to besides its own (XINIT_WEB_HOSTS);
	// Hostname is the machine's name, "" to ask the system.
	Hosts    []string
	Hostname string
	// Root is the directory of noVNC's files.
	Root string
	// TLSCert and TLSKey, both or neither, turn on HTTPS and WSS.
	TLSCert, TLSKey string
	// VNCAddr is the session's VNC address (0.0.0.0 and :: mean this host).
	VNCAddr string
	// VNCService is the name of x11vnc's service in the status snapshots.
	VNCService string
	// Password says whether VNC asks for a password; without one the view listens
	// on 127.0.0.1 only.
	Password bool
	// Status returns the supervisor's latest snapshot.
	Status func() supervisor.Status
	// MaxViewers bounds the bridged viewers at once, MaxConns the HTTP
	// connections; 0 means the defaults.
	MaxViewers, MaxConns int
	// Guesses is the record of password guesses per client address, shared
	// with the smooth view's endpoint; nil means one of the bridge's own.
	Guesses *netguard.Guesses
	// Smooth, when set, is the smooth view's WebSocket endpoint: it is served
	// on /stream behind the same checks as the bridge, and / opens the smooth
	// view's page (which falls back to noVNC, always on /novnc).
	Smooth http.Handler
	// Timeouts; 0 means the defaults (5s header, 5s VNC dial, 30s ping
	// interval, DefaultLoginTimeout for VNC's login through the bridge, 10s to
	// read a request, 30s to write an answer).
	HeaderTimeout, DialTimeout, PingInterval, LoginTimeout time.Duration
	ReadTimeout, WriteTimeout                              time.Duration
	Logger                                                 *zap.Logger
}

//go:embed page
var page embed.FS

// Server is the browser view.
type Server struct {
	o       Options
	log     *zap.Logger
	ln      net.Listener
	root    *os.Root
	srv     *http.Server
	scheme  string
	viewers chan struct{}
	m       *metrics
	guesses *netguard.Guesses

	ctx     context.Context // canceled by Shutdown: ends every bridge
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the server and every bridge
	serving atomic.Bool
}

// ListenAddr is where the view listens. An address without a host takes
// XINIT_VNC_LISTEN's host when that names one (VNC on 127.0.0.1 keeps the view
// there too); without a password the host must be a loopback one, else the view
// listens on 127.0.0.1 with the same port (VNC's rule).
func ListenAddr(addr, vncListen string, password bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if host == "" && vncListen != "" && vncListen != "0.0.0.0" && vncListen != "::" {
		host = vncListen
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	if password {
		return net.JoinHostPort(host, port), nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return net.JoinHostPort(host, port), nil
	}
	return net.JoinHostPort("127.0.0.1", port), nil
}

// dialAddr turns a listen address into one to dial.
func dialAddr(vnc string) (string, error) {
	host, port, err := net.SplitHostPort(vnc)
	if err != nil {
		return "", fmt.Errorf("VNC address %q: %w", vnc, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" || host == "localhost" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// Listen opens the web root and binds the address at once, so a busy port or a
// bad root fails before anything starts. Start serves.
func Listen(o Options) (*Server, error) {
	if o.Status == nil || o.Logger == nil {
		return nil, errors.New("web: Options.Status and Options.Logger are required")
	}
	if o.Guesses == nil {
		o.Guesses = netguard.NewGuesses()
	}
	if o.MaxViewers <= 0 {
		o.MaxViewers = DefaultMaxViewers
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.HeaderTimeout <= 0 {
		o.HeaderTimeout = 5 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = readTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = writeTimeout
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 30 * time.Second
	}
	if o.LoginTimeout <= 0 {
		o.LoginTimeout = DefaultLoginTimeout
	}
	var err error
	if o.VNCAddr, err = dialAddr(o.VNCAddr); err != nil {
		return nil, err
	}
	addr, err := ListenAddr(o.Addr, o.VNCListen, o.Password)
	if err != nil {
		return nil, fmt.Errorf("XINIT_WEB_ADDR=%q: %w", o.Addr, err)
	}
	root, err := os.OpenRoot(o.Root)
	if err != nil {
		return nil, fmt.Errorf("XINIT_WEB_ROOT=%q: %w", o.Root, err)
	}
	s := &Server{o: o, root: root, scheme: "http", viewers: make(chan struct{}, o.MaxViewers), m: newMetrics(), guesses: o.Guesses}
	s.log = o.Logger.Named("web")
	var tlsConf *tls.Config
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			root.Close()
			return nil, fmt.Errorf("XINIT_WEB_TLS_CERT=%q, XINIT_WEB_TLS_KEY=%q: %w", o.TLSCert, o.TLSKey, err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.scheme = "https"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("XINIT_WEB_ADDR=%q: %w", o.Addr, err)
	}
	ln = netguard.NewListener(ln, netguard.Limits{Max: o.MaxConns, PerClient: maxPerClient})
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	s.ln = ln
	s.ctx, s.cancel = context.WithCancel(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /xinit-view.js", s.servePage("page/view.js"))
	mux.HandleFunc("GET /websockify", s.bridge)
	s.pageRoutes(mux)
	mux.Handle("GET /", fileHandler(root))
	hostname := o.Hostname
	if hostname == "" {
		hostname, _ = os.Hostname()
	}
	hosts := netguard.NewHosts(addr, hostname, o.Hosts, "XINIT_WEB_HOSTS")
	s.srv = &http.Server{
		Handler:           netguard.NoFraming(hosts.Handler(mux)),
		ReadHeaderTimeout: o.HeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    16 << 10,
		ConnState:         netguard.ConnState,
	}
	// The standard library's complaints (a failed TLS handshake, a panic)
	// reach the log at Warn.
	s.srv.ErrorLog, _ = zap.NewStdLogAt(s.log, zap.WarnLevel)
	return s, nil
}

// Addr is the address the view listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the view's address for a person on this host.
func (s *Server) URL() string {
	_, port, _ := net.SplitHostPort(s.Addr())
	return s.scheme + "://localhost:" + port + "/"
}

// Start serves in a goroutine that Shutdown waits for.
func (s *Server) Start() {
	s.serving.Store(true)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.serving.Store(false)
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("browser view stopped serving", zap.Error(err))
		}
	}()
	fields := []zap.Field{zap.String("addr", s.Addr()), zap.String("url", s.URL()), zap.String("vnc", s.o.VNCAddr)}
	if s.o.Password {
		s.log.Info("browser view listening", fields...)
	} else {
		s.log.Warn("no VNC password: the browser view listens on 127.0.0.1:"+port(s.Addr())+" only; reach it with kubectl port-forward or an ssh tunnel, or set VNC_PASSWORD (or XINIT_VNC_PASSWORD_FILE) to listen on every interface", fields...)
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// Ready is nil while the view serves.
func (s *Server) Ready() error {
	if !s.serving.Load() {
		return errors.New("the browser view is not serving")
	}
	return nil
}

// Shutdown stops accepting, ends every bridge and waits for them.
func (s *Server) Shutdown(ctx context.Context) {
	s.cancel()
	_ = s.srv.Shutdown(ctx)
	s.wg.Wait()
	s.root.Close()
}

func (s *Server) servePage(name string) http.HandlerFunc {
	b, err := page.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time
	}
	ctype := "text/html; charset=utf-8"
	if len(name) > 3 && name[len(name)-3:] == ".js" {
		ctype = "text/javascript; charset=utf-8"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Content-Length", strconv.Itoa(len(b)))
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:; frame-ancestors 'none'")
		if r.Method != http.MethodHead {
			_, _ = w.Write(b)
		}
	}
}
