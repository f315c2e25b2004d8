package prom

import (
	"net/http/httptest"
	"strings"
	"testing"
)

type fixed []Metric

func (f fixed) Describe(chan<- *Desc) {}
func (f fixed) Collect(ch chan<- Metric) {
	for _, m := range f {
		ch <- m
	}
}

func TestWrite(t *testing.T) {
	up := NewDesc("x_up", "1 when up.", []string{"service"}, Labels{"b": "2", "a": "1"})
	n := NewDesc("x_total", "Help with \\ and\nnewline.", nil, nil)
	var b strings.Builder
	err := Write(&b, Gather(fixed{
		MustNewConstMetric(up, GaugeValue, 1, "vnc"),
		MustNewConstMetric(n, CounterValue, 3),
		MustNewConstMetric(up, GaugeValue, 0.5, "a \"q\"\n\\"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := `# HELP x_total Help with \\ and\nnewline.
# TYPE x_total counter
x_total 3
# HELP x_up 1 when up.
# TYPE x_up gauge
x_up{a="1",b="2",service="a \"q\"\n\\"} 0.5
x_up{a="1",b="2",service="vnc"} 1
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestLabelCountPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a missing label value")
		}
	}()
	MustNewConstMetric(NewDesc("x", "x", []string{"a"}, nil), GaugeValue, 1)
}

func TestHandlerRuntimeFamilies(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler(GoCollector{}, ProcessCollector{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); ct != ContentType {
		t.Errorf("Content-Type %q", ct)
	}
	body := rec.Body.String()
	for _, want := range []string{"go_goroutines ", "go_threads ", "go_info{version=", "go_memstats_heap_alloc_bytes ", "go_memstats_sys_bytes ",
		"go_gc_cycles_total ", "process_resident_memory_bytes ", "process_open_fds ", "process_max_fds ", "process_cpu_seconds_total ",
		"process_start_time_seconds ", "process_virtual_memory_bytes "} {
		if !strings.Contains(body, "\n"+want) && !strings.HasPrefix(body, want) {
			t.Errorf("no %q in\n%s", want, body)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		if strings.HasPrefix(line, "process_resident_memory_bytes ") && strings.HasSuffix(line, " 0") {
			t.Errorf("resident memory read as 0: %s", line)
		}
	}
}

func TestHistogramExposition(t *testing.T) {
	d := NewDesc("x_interval_seconds", "Gaps.", nil, nil)
	var b strings.Builder
	ms := append(fixed{MustNewConstMetric(NewDesc("x_a", "A.", nil, nil), GaugeValue, 1)},
		MustNewConstHistogram(d, []float64{0.01, 0.1, 2}, []uint64{3, 5, 5}, 6, 4.25)...)
	if err := Write(&b, Gather(ms)); err != nil {
		t.Fatal(err)
	}
	want := "# HELP x_a A.\n# TYPE x_a gauge\nx_a 1\n" +
		"# HELP x_interval_seconds Gaps.\n# TYPE x_interval_seconds histogram\n" +
		"x_interval_seconds_bucket{le=\"0.01\"} 3\nx_interval_seconds_bucket{le=\"0.1\"} 5\n" +
		"x_interval_seconds_bucket{le=\"2\"} 5\nx_interval_seconds_bucket{le=\"+Inf\"} 6\n" +
		"x_interval_seconds_sum 4.25\nx_interval_seconds_count 6\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
