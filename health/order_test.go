package health

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

func TestMetricsStartWithOwnFamilies(t *testing.T) {
	reg := prometheus.NewRegistry()
	own := prometheus.NewGauge(prometheus.GaugeOpts{Name: "xinit_test_up", Help: "test"})
	reg.MustRegister(collectors.NewGoCollector(), own)
	mfs, err := ownFirst{reg}.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) < 2 || mfs[0].GetName() != "xinit_test_up" {
		t.Fatalf("first family %q, want xinit_test_up", mfs[0].GetName())
	}
}
