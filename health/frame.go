package health

import (
	"bytes"
	"encoding/json"
	"time"

	prometheus "github.com/xinit-go/xinit-go/internal/prom"

	"github.com/xinit-go/xinit-go/supervisor"
)

// FrameStatus is what /status shows of the frozen-screen watchdog.
type FrameStatus struct {
	// Sampling: the watchdog has taken a first sample; before it the other
	// fields say nothing of the picture.
	Sampling bool `json:"sampling"`
	// UnchangedSeconds is the age of the last change of the picture (or of the
	// app's start, when that came later).
	UnchangedSeconds float64 `json:"unchanged_seconds"`
	Black            bool    `json:"black"`
	Frozen           bool    `json:"frozen"`
	Timeout          string  `json:"timeout"`
	Action           string  `json:"action"`
	Error            string  `json:"error,omitempty"` // the last sampling error
}

var (
	descFrameAge   = prometheus.NewDesc("xinit_frame_unchanged_seconds", "Seconds since the picture on the display last changed (or the app started).", nil, nil)
	descFrameBlack = prometheus.NewDesc("xinit_frame_black", "1 when the last sample of the display was entirely black.", nil, nil)
)

func (c *collector) collectFrame(ch chan<- prometheus.Metric) {
	if c.s.info.Frame == nil {
		return
	}
	f := c.s.info.Frame()
	if f == nil {
		return
	}
	black := 0.0
	if f.Black {
		black = 1
	}
	ch <- prometheus.MustNewConstMetric(descFrameAge, prometheus.GaugeValue, f.UnchangedSeconds)
	ch <- prometheus.MustNewConstMetric(descFrameBlack, prometheus.GaugeValue, black)
}

// StatusJSON is the /status document for a snapshot, as the endpoint serves it.
func StatusJSON(st supervisor.Status, info Info) []byte {
	r, _ := Ready(st, info.Vital...)
	return statusJSON(st, info, r)
}

// statusJSON is /status with readiness decided by the caller (the server adds
// its own checks, such as the web view's).
func statusJSON(st supervisor.Status, info Info, r bool) []byte {
	h, _ := Healthy(st, info.Vital...)
	doc := statusDoc{Info: info, Healthy: h, Ready: r, Stopping: st.Stopping, Reason: st.Reason,
		Orphans: st.Orphans, Services: st.Services}
	if !st.Started.IsZero() {
		doc.Uptime = time.Since(st.Started).Round(time.Millisecond).String()
	}
	if info.Frame != nil {
		doc.Frame = info.Frame()
	}
	if info.GL != nil {
		doc.GL = info.GL()
	}
	if info.Screen != nil {
		doc.Screen = info.Screen()
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	_ = enc.Encode(doc)
	return b.Bytes()
}
