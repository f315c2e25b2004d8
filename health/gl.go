package health

import (
	"strconv"

	prometheus "github.com/xinit-go/xinit-go/internal/prom"
)

// GL is what /status shows of the GL renderer probe: the renderer the app gets
// on the display.
type GL struct {
	Renderer string `json:"renderer"`
	Vendor   string `json:"vendor"`
	Version  string `json:"version"`
	Direct   bool   `json:"direct"`
	Software bool   `json:"software"`
	Library  string `json:"library,omitempty"`
	Error    string `json:"error,omitempty"`
	// Required: XINIT_REQUIRE_GPU=1, a software renderer ends the session.
	Required bool `json:"required"`
}

var descGL = prometheus.NewDesc("xinit_gl_renderer_info",
	"The GL renderer the app gets on the display, as the probe found it (software=\"true\": Mesa on the CPU).",
	[]string{"renderer", "vendor", "version", "software"}, nil)

func (c *collector) collectGL(ch chan<- prometheus.Metric) {
	if c.s.info.GL == nil {
		return
	}
	g := c.s.info.GL()
	if g == nil || g.Error != "" {
		return
	}
	ch <- prometheus.MustNewConstMetric(descGL, prometheus.GaugeValue, 1, g.Renderer, g.Vendor, g.Version, strconv.FormatBool(g.Software))
}
