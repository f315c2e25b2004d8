package web

import "github.com/xinit-go/xinit-go/internal/prom"

type metrics struct {
	conns    *prom.Counter
	active   *prom.Gauge
	rejected *prom.CounterVec
	bytes    *prom.CounterVec
}

// Reasons a viewer is turned away, as the rejected counter labels them.
const (
	rejectOrigin      = "origin"
	rejectLimit       = "limit"
	rejectNotReady    = "vnc_not_ready"
	rejectUnreachable = "vnc_unreachable"
	rejectHandshake   = "handshake"
	// The VNC login through the bridge: too slow, a wrong password, and an
	// address that must wait after wrong passwords.
	rejectLoginTimeout = "login_timeout"
	rejectPassword     = "password"
	rejectGuesses      = "guesses"
)

func newMetrics() *metrics {
	m := &metrics{
		conns:  prom.NewCounter("xinit_web_connections_total", "Browser viewers bridged to VNC."),
		active: prom.NewGauge("xinit_web_connections_active", "Browser viewers bridged to VNC now."),
		rejected: prom.NewCounterVec("xinit_web_rejected_total", "Browser viewers turned away, by reason.",
			[]string{"reason"}),
		bytes: prom.NewCounterVec("xinit_web_bytes_total",
			"Bytes bridged between browser viewers and VNC, by direction (to_browser, from_browser).", []string{"direction"}),
	}
	for _, r := range []string{rejectOrigin, rejectLimit, rejectNotReady, rejectUnreachable, rejectHandshake, rejectLoginTimeout, rejectPassword, rejectGuesses} {
		m.rejected.WithLabelValues(r)
	}
	m.bytes.WithLabelValues("to_browser")
	m.bytes.WithLabelValues("from_browser")
	return m
}

// Collectors are the view's metrics, for the health server's /metrics.
func (s *Server) Collectors() []prom.Collector {
	return []prom.Collector{s.m.conns, s.m.active, s.m.rejected, s.m.bytes}
}
