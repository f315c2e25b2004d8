package stream

import (
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/xinit-go/xinit-go/internal/prom"
)

// Metrics are the smooth view's counters for /metrics.
type Metrics struct {
	frames   *prom.CounterVec // by stage: captured, encoded, sent, skipped
	bytes    *prom.CounterVec // by direction: encoded, sent
	viewers  *prom.Gauge
	starts   *prom.Counter
	cpu      *prom.Counter
	logins   *prom.CounterVec
	input    *prom.CounterVec
	latency  *latency
	received *prom.Counter
}

// Login results, as xinit_view_logins_total labels them.
const (
	loginOK       = "ok"
	loginFailed   = "failed"
	loginLocked   = "locked"
	loginTimeout  = "timeout"
	loginNoneNeed = "no_password"
)

// NewMetrics makes the view's metrics, every label present from the start.
func NewMetrics() *Metrics {
	m := &Metrics{
		frames: prom.NewCounterVec("xinit_view_frames_total",
			"Smooth view pictures by stage: captured (by ffmpeg), encoded, sent (to all viewers), skipped (by slow viewers).", []string{"stage"}),
		bytes: prom.NewCounterVec("xinit_view_bytes_total",
			"Smooth view H.264 bytes: encoded, and sent to all viewers.", []string{"stage"}),
		viewers: prom.NewGauge("xinit_view_viewers", "Smooth view viewers watching now."),
		starts:  prom.NewCounter("xinit_view_encoder_starts_total", "Starts of the smooth view's encoder (ffmpeg)."),
		cpu:     prom.NewCounter("xinit_view_encoder_cpu_seconds_total", "CPU time of the smooth view's encoder runs that ended."),
		logins: prom.NewCounterVec("xinit_view_logins_total",
			"Smooth view logins by result: ok, failed, locked (too many failures), timeout, no_password.", []string{"result"}),
		input: prom.NewCounterVec("xinit_view_input_events_total",
			"Input events from smooth view viewers injected into the display, by kind.", []string{"kind"}),
		received: prom.NewCounter("xinit_view_latency_reports_total", "Latency reports from the viewers' pages."),
		latency:  newLatency(),
	}
	for _, s := range []string{"captured", "encoded", "sent", "skipped"} {
		m.frames.WithLabelValues(s)
	}
	for _, s := range []string{"encoded", "sent"} {
		m.bytes.WithLabelValues(s)
	}
	for _, s := range []string{loginOK, loginFailed, loginLocked, loginTimeout, loginNoneNeed} {
		m.logins.WithLabelValues(s)
	}
	for _, s := range []string{"motion", "button", "key"} {
		m.input.WithLabelValues(s)
	}
	return m
}

// Collectors are the metrics for /metrics.
func (m *Metrics) Collectors() []prom.Collector {
	return []prom.Collector{m.frames, m.bytes, m.viewers, m.starts, m.cpu, m.logins, m.input, m.received, m.latency}
}

// latency keeps the viewers' latest reports of the time from a picture's
// arrival in xinit-go to its draw on the page, and gives their quantiles.
type latency struct {
	desc *prom.Desc
	mu   sync.Mutex
	ring []float64
	next int
}

func newLatency() *latency {
	return &latency{desc: prom.NewDesc("xinit_view_latency_seconds",
		"Smooth view latency over the latest 1024 reports from the viewers' pages: a picture's arrival from the encoder to its draw in the browser (the same host's clock; capture and encoding come before it).",
		[]string{"quantile"}, nil)}
}

func (l *latency) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ring) < 1024 {
		l.ring = append(l.ring, d.Seconds())
		return
	}
	l.ring[l.next] = d.Seconds()
	l.next = (l.next + 1) % len(l.ring)
}

func (l *latency) Describe(ch chan<- *prom.Desc) { ch <- l.desc }

func (l *latency) Collect(ch chan<- prom.Metric) {
	l.mu.Lock()
	s := slices.Clone(l.ring)
	l.mu.Unlock()
	if len(s) == 0 {
		return
	}
	slices.Sort(s)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		v := s[min(len(s)-1, int(q*float64(len(s))))]
		ch <- prom.MustNewConstMetric(l.desc, prom.GaugeValue, v, strconv.FormatFloat(q, 'f', -1, 64))
	}
}
