package health

import (
	prometheus "github.com/xinit-go/xinit-go/internal/prom"
)

// Screen is what /status shows of the screen's updates: every drawing the X
// server reported, whoever drew it, counted through DAMAGE.
type Screen struct {
	// Watching: xinit-go is connected to the X server and counting; Error says
	// why not when it is not.
	Watching bool   `json:"watching"`
	Error    string `json:"error,omitempty"`
	Total    int64  `json:"updates_total"`
	// PerSecond is over the last 5 whole seconds; LongestGapSeconds is the
	// longest time between two updates over the last minute, the current wait
	// included.
	PerSecond         float64     `json:"updates_per_second"`
	LongestGapSeconds float64     `json:"longest_gap_seconds"`
	SinceLastSeconds  float64     `json:"since_last_update_seconds"`
	Slow              *SlowStatus `json:"slow,omitempty"`

	// The interval histogram, for /metrics.
	Bounds    []float64 `json:"-"`
	Counts    []uint64  `json:"-"`
	Intervals uint64    `json:"-"`
	Sum       float64   `json:"-"`
}

// SlowStatus is the slow-screen rule, when it is on.
type SlowStatus struct {
	Below  float64 `json:"below_per_second"`
	For    string  `json:"for"`
	Action string  `json:"action"`
	Slow   bool    `json:"slow"` // a slow stretch was reported and the rate has not recovered since
}

var (
	descUpdates  = prometheus.NewDesc("xinit_screen_updates_total", "Updates of the screen: frames drawn, whoever drew them, as X DAMAGE reports them.", nil, nil)
	descInterval = prometheus.NewDesc("xinit_screen_update_interval_seconds", "Time between the starts of two updates of the screen.", nil, nil)
	descSlow     = prometheus.NewDesc("xinit_screen_slow", "1 while the screen is slow by XINIT_SLOW_FPS and XINIT_SLOW_FOR.", nil, nil)
)

func (c *collector) collectScreen(ch chan<- prometheus.Metric) {
	if c.s.info.Screen == nil {
		return
	}
	s := c.s.info.Screen()
	if s == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descUpdates, prometheus.CounterValue, float64(s.Total))
	if len(s.Bounds) == len(s.Counts) {
		for _, m := range prometheus.MustNewConstHistogram(descInterval, s.Bounds, s.Counts, s.Intervals, s.Sum) {
			ch <- m
		}
	}
	if s.Slow != nil {
		v := 0.0
		if s.Slow.Slow {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descSlow, prometheus.GaugeValue, v)
	}
}
