package web

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	conns    prometheus.Counter
	active   prometheus.Gauge
	rejected *prometheus.CounterVec
	bytes    *prometheus.CounterVec
}

// Reasons a viewer is turned away, as the rejected counter labels them.
const (
	rejectOrigin      = "origin"
	rejectLimit       = "limit"
	rejectNotReady    = "vnc_not_ready"
	rejectUnreachable = "vnc_unreachable"
	rejectHandshake   = "handshake"
)

func newMetrics() *metrics {
	m := &metrics{
		conns: prometheus.NewCounter(prometheus.CounterOpts{Name: "xinit_web_connections_total",
			Help: "Browser viewers bridged to VNC."}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{Name: "xinit_web_connections_active",
			Help: "Browser viewers bridged to VNC now."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "xinit_web_rejected_total",
			Help: "Browser viewers turned away, by reason."}, []string{"reason"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "xinit_web_bytes_total",
			Help: "Bytes bridged between browser viewers and VNC, by direction (to_browser, from_browser)."}, []string{"direction"}),
	}
	for _, r := range []string{rejectOrigin, rejectLimit, rejectNotReady, rejectUnreachable, rejectHandshake} {
		m.rejected.WithLabelValues(r)
	}
	m.bytes.WithLabelValues("to_browser")
	m.bytes.WithLabelValues("from_browser")
	return m
}

// Collectors are the view's metrics, for the health server's /metrics.
func (s *Server) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.m.conns, s.m.active, s.m.rejected, s.m.bytes}
}
