package health

import (
	prometheus "github.com/xinit-go/xinit-go/internal/prom"

	"github.com/xinit-go/xinit-go/supervisor"
)

var (
	descUp       = prometheus.NewDesc("xinit_service_up", "1 when the service is running and ready (a oneshot: done).", []string{"service"}, nil)
	descState    = prometheus.NewDesc("xinit_service_state", "1 for the service's current state.", []string{"service", "state"}, nil)
	descRestarts = prometheus.NewDesc("xinit_service_restarts_total", "Restarts of the service.", []string{"service"}, nil)
	descExit     = prometheus.NewDesc("xinit_service_last_exit_code", "Exit code of the service's last run (128+N for signal N; -1 before any).", []string{"service"}, nil)
	descReady    = prometheus.NewDesc("xinit_service_ready_seconds", "Time from the service's latest start to ready.", []string{"service"}, nil)
	descOrphans  = prometheus.NewDesc("xinit_orphans_reaped_total", "Orphaned processes reaped.", nil, nil)
	descInfo     = prometheus.NewDesc("xinit_info", "Build and session information.", []string{"version", "backend", "display", "nvidia_glx"}, nil)
	states       = []supervisor.State{supervisor.Pending, supervisor.Starting, supervisor.Ready, supervisor.Backoff, supervisor.Stopping, supervisor.Stopped, supervisor.Failed, supervisor.Done}
)

type collector struct{ s *Server }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descState, descRestarts, descExit, descReady, descOrphans, descInfo, descFrameAge, descFrameBlack, descGL, descUpdates, descInterval, descSlow} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.status()
	for _, sv := range st.Services {
		up := 0.0
		if sv.State.Up() {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, sv.Name)
		for _, s := range states {
			v := 0.0
			if sv.State == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, v, sv.Name, string(s))
		}
		ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(sv.Restarts), sv.Name)
		ch <- prometheus.MustNewConstMetric(descExit, prometheus.GaugeValue, float64(sv.LastExitCode), sv.Name)
		if sv.ReadyAfter > 0 {
			ch <- prometheus.MustNewConstMetric(descReady, prometheus.GaugeValue, sv.ReadyAfter.Seconds(), sv.Name)
		}
	}
	ch <- prometheus.MustNewConstMetric(descOrphans, prometheus.CounterValue, float64(st.Orphans))
	glx := "false"
	if c.s.info.NvidiaGLX {
		glx = "true"
	}
	ch <- prometheus.MustNewConstMetric(descInfo, prometheus.GaugeValue, 1, c.s.info.Version, c.s.info.Backend, c.s.info.Display, glx)
	c.collectFrame(ch)
	c.collectGL(ch)
	c.collectScreen(ch)
}
