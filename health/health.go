package health

import (
	"context"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/xinit-go/xinit-go/internal/netguard"
	"github.com/xinit-go/xinit-go/internal/prom"
	"github.com/xinit-go/xinit-go/supervisor"
)

// GPU is what /status shows of a GPU.
type GPU struct {
	Index  int    `json:"index"`
	Name   string `json:"name"`
	UUID   string `json:"uuid,omitempty"`
	BusID  string `json:"busid"`
	Driver string `json:"driver,omitempty"`
}

// Info is the static part of /status.
type Info struct {
	Version    string `json:"version"`
	Backend    string `json:"backend"`
	Why        string `json:"why"`
	Display    string `json:"display,omitempty"`
	Resolution string `json:"resolution,omitempty"`
	NvidiaGLX  bool   `json:"nvidia_glx"`
	// VulkanLayer: the app presents Vulkan through VK_LAYER_XINIT_present; Vulkan says why.
	VulkanLayer bool   `json:"vulkan_layer"`
	Vulkan      string `json:"vulkan,omitempty"`
	VNC         string `json:"vnc,omitempty"` // listen address, "" when off
	GPUs        []GPU  `json:"gpus,omitempty"`
	// Vital names the optional services that the probes still count: /healthz
	// fails when one has failed for good, /readyz waits for it (VNC beside an
	// app: the app's result does not depend on it, a viewer does).
	Vital []string `json:"vital,omitempty"`
	// Frame, when set, reports the frozen-screen watchdog; nil before its first sample.
	Frame func() *FrameStatus `json:"-"`
	// GL, when set, reports the GL renderer probe; nil before its first result.
	GL func() *GL `json:"-"`
	// Screen, when set, reports the screen's updates.
	Screen func() *Screen `json:"-"`
}

// Options say where the server listens and which names it answers to.
type Options struct {
	// Addr is the TCP address (HOST:PORT or :PORT): probes over the network,
	// metrics scrapers, people.
	Addr string
	// Socket, when set, is the path of a Unix socket with its own slots, for
	// `xinit-go health` (SocketPath of the private runtime directory): no client
	// on the network can take them, so the exec probes always get through.
	Socket string
	// Hosts are names the server answers to besides its own (XINIT_WEB_HOSTS).
	Hosts []string
	// Hostname is the machine's name, also its own; "" asks the system.
	Hostname string
}

// SocketPath is where the probe's socket lives in a runtime directory.
func SocketPath(runtimeDir string) string { return filepath.Join(runtimeDir, "health.sock") }

// Server is the health and metrics HTTP server.
type Server struct {
	log    *zap.Logger
	status func() supervisor.Status
	info   Info
	ln     *netguard.Listener
	unix   *netguard.Listener // nil without Options.Socket
	srv    *http.Server
	wg     sync.WaitGroup
	mu     sync.Mutex
	checks []check          // extra conditions of /readyz
	extra  []prom.Collector // collectors others added to /metrics
}

// check is an extra readiness condition, such as the browser view's.
type check struct {
	name  string
	ready func() error
}

// Listen binds the address (and the socket) at once, so a bad address fails
// before anything starts.
func Listen(o Options, status func() supervisor.Status, info Info, log *zap.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{log: log.Named("health"), status: status, info: info,
		ln: netguard.NewListener(ln, netguard.Limits{Max: maxConns, PerClient: maxPerClient, Loopback: maxProbeConns})}
	if o.Socket != "" {
		if ul, err := listenSocket(o.Socket); err != nil {
			// Not fatal: the probe then asks over TCP, as before.
			s.log.Warn("no socket for the probe; xinit-go health asks over TCP, where other clients can hold the slots", zap.String("socket", o.Socket), zap.Error(err))
		} else {
			s.unix = netguard.NewListener(ul, netguard.Limits{Max: maxProbeConns})
		}
	}
	hostname := o.Hostname
	if hostname == "" {
		hostname, _ = os.Hostname()
	}
	hosts := netguard.NewHosts(o.Addr, hostname, o.Hosts, "XINIT_WEB_HOSTS")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /status", s.statusJSON)
	mux.Handle("GET /metrics", ownFirst(s.collectors))
	s.srv = &http.Server{Handler: netguard.NoFraming(hosts.Handler(mux)), ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes,
		ConnState: netguard.ConnState}
	// The standard library's complaints (a failed accept, a panic) reach the log.
	s.srv.ErrorLog, _ = zap.NewStdLogAt(s.log, zap.WarnLevel)
	return s, nil
}

// listenSocket listens on a Unix socket only its owner may use. The directory
// must be xinit-go's own, which no other user can write (the private runtime
// directory); it is opened without following a link and checked on the open
// descriptor, and what is there already (a socket an earlier run left) is
// removed, and the new socket's mode set, relative to that descriptor. bind
// itself never follows a link: a name taken fails it.
func listenSocket(path string) (net.Listener, error) {
	dir, name := filepath.Dir(path), filepath.Base(path)
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		return nil, fmt.Errorf("%s is not a directory of xinit-go's own that no other user can write", dir)
	}
	_ = unix.Unlinkat(fd, name, 0)
	ul, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := unix.Fchmodat(fd, name, 0o600, 0); err != nil {
		ul.Close()
		return nil, err
	}
	return ul, nil
}

// AddReady makes /readyz (and /status's ready) wait for one more component,
// such as the browser view; ready returns nil when it is ready.
func (s *Server) AddReady(name string, ready func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, check{name, ready})
}

// Register adds collectors to /metrics.
func (s *Server) Register(cs ...prom.Collector) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extra = append(s.extra, cs...)
	return nil
}

// collectors is what /metrics gathers: the Go runtime's, the process's, the
// supervisor's and what others registered.
func (s *Server) collectors() []prom.Collector {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]prom.Collector{prom.GoCollector{}, prom.ProcessCollector{}, &collector{s: s}}, s.extra...)
}

// ready is Ready with the extra conditions.
func (s *Server) ready(st supervisor.Status) (bool, string) {
	ok, reason := Ready(st, s.info.Vital...)
	if st.Stopping {
		return ok, reason
	}
	s.mu.Lock()
	checks := append([]check(nil), s.checks...)
	s.mu.Unlock()
	var waiting []string
	for _, c := range checks {
		if err := c.ready(); err != nil {
			waiting = append(waiting, fmt.Sprintf("%s: %v", c.name, err))
		}
	}
	if len(waiting) == 0 {
		return ok, reason
	}
	if ok {
		reason = "not ready: "
	} else {
		reason += ", "
	}
	return false, reason + strings.Join(waiting, ", ")
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Start serves in goroutines that Close waits for.
func (s *Server) Start() {
	serve := func(ln net.Listener) {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("health server", zap.Error(err))
			}
		}()
	}
	serve(s.ln)
	fields := []zap.Field{zap.String("addr", s.Addr())}
	if s.unix != nil {
		serve(s.unix)
		fields = append(fields, zap.String("probe_socket", s.unix.Addr().String()))
	}
	s.log.Info("health endpoint listening", fields...)
}

// Healthy says whether the set is alive, with a one-line reason when it is not.
// An optional service counts only when it is vital.
func Healthy(st supervisor.Status, vital ...string) (bool, string) {
	if st.Stopping {
		return false, "stopping: " + st.Reason
	}
	for _, sv := range st.Services {
		if sv.State == supervisor.Failed && (sv.Role != "optional" || slices.Contains(vital, sv.Name)) {
			return false, fmt.Sprintf("%s failed: %s", sv.Name, sv.LastReason)
		}
	}
	return true, "ok"
}

// Ready says whether every service is ready (a oneshot: done), naming those that are not. An
// optional service counts only when it is vital.
func Ready(st supervisor.Status, vital ...string) (bool, string) {
	if st.Stopping {
		return false, "stopping: " + st.Reason
	}
	var waiting []string
	for _, sv := range st.Services {
		if !sv.State.Up() && (sv.Role != "optional" || slices.Contains(vital, sv.Name)) {
			waiting = append(waiting, fmt.Sprintf("%s is %s", sv.Name, sv.State))
		}
	}
	if len(waiting) > 0 {
		return false, "not ready: " + strings.Join(waiting, ", ")
	}
	return true, "ok"
}

func answer(w http.ResponseWriter, ok bool, reason string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprintln(w, reason)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	ok, reason := Healthy(s.status(), s.info.Vital...)
	answer(w, ok, reason)
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	ok, reason := s.ready(s.status())
	answer(w, ok, reason)
}

type statusDoc struct {
	Info
	Healthy  bool                       `json:"healthy"`
	Ready    bool                       `json:"ready"`
	Uptime   string                     `json:"uptime"`
	Stopping bool                       `json:"stopping"`
	Reason   string                     `json:"reason,omitempty"`
	Orphans  int64                      `json:"orphans_reaped"`
	Services []supervisor.ServiceStatus `json:"services"`
	Frame    *FrameStatus               `json:"frame,omitempty"`
	Screen   *Screen                    `json:"screen,omitempty"`
	GL       *GL                        `json:"gl,omitempty"`
}

func (s *Server) statusJSON(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	st := s.status()
	ready, _ := s.ready(st)
	_, _ = w.Write(statusJSON(st, s.info, ready))
}

// Probe asks a running xinit-go; path is /healthz or /readyz. It goes through
// socket when one is there (the server's reserved slots), else to addr.
func Probe(ctx context.Context, addr, socket, path string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	target := net.JoinHostPort(host, port)
	tr := &http.Transport{DisableKeepAlives: true, Proxy: nil}
	if fi, err := os.Lstat(socket); socket != "" && err == nil && fi.Mode().Type() == os.ModeSocket {
		tcp := target
		target = "localhost"
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, "unix", socket)
			if err != nil {
				// Another user's socket (EACCES): ask over TCP instead.
				return d.DialContext(ctx, "tcp", tcp)
			}
			return c, nil
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+target+path, nil)
	if err != nil {
		return err
	}
	c := &http.Client{Transport: tr}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, strings.TrimSpace(string(buf[:n])))
	}
	return nil
}
