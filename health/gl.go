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
	// Vulkan lists the Vulkan devices the app sees, as the same probe found them.
	Vulkan *Vulkan `json:"vulkan,omitempty"`
}

// Vulkan is the probe's view of Vulkan in the app's environment.
type Vulkan struct {
	Devices  []VulkanDevice `json:"devices"`
	Software bool           `json:"software"` // every device is a CPU (lavapipe)
	Error    string         `json:"error,omitempty"`
}

// VulkanDevice is one physical device: its name, its type (discrete-gpu, cpu, ...)
// and its driver.
type VulkanDevice struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Driver string `json:"driver,omitempty"`
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
