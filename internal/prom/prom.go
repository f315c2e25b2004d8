package prom

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// ValueType is a metric's type as the exposition format's TYPE line names it.
type ValueType int

// The value types xinit-go exports.
const (
	CounterValue ValueType = iota + 1
	GaugeValue
	HistogramValue
)

func (t ValueType) String() string {
	switch t {
	case CounterValue:
		return "counter"
	case HistogramValue:
		return "histogram"
	}
	return "gauge"
}

// Labels are constant label pairs of a descriptor.
type Labels map[string]string

// Desc describes a metric family: its name, help text and label names.
type Desc struct {
	name, help string
	labels     []string
	constPairs string // rendered `k="v"` pairs of the constant labels, sorted
}

// NewDesc describes a family; variableLabels are the names whose values each
// metric gives, constLabels pairs every metric of the family carries.
func NewDesc(name, help string, variableLabels []string, constLabels Labels) *Desc {
	d := &Desc{name: name, help: help, labels: variableLabels}
	keys := make([]string, 0, len(constLabels))
	for k := range constLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writePair(&b, k, constLabels[k])
	}
	d.constPairs = b.String()
	return d
}

// Metric is one sample of a family.
type Metric struct {
	desc   *Desc
	typ    ValueType
	value  float64
	labels string // rendered label pairs, constant ones first
	// A histogram is written as several samples: suffix is _bucket, _sum or
	// _count, part their order, and series the labels without le, by which
	// the samples of one histogram sort together.
	suffix string
	part   int
	series string
}

// MustNewConstMetric makes a sample; it panics when the number of label values
// is not the descriptor's number of label names (a programming error).
func MustNewConstMetric(d *Desc, t ValueType, v float64, labelValues ...string) Metric {
	if len(labelValues) != len(d.labels) {
		panic(fmt.Sprintf("prom: %s has %d labels, got %d values", d.name, len(d.labels), len(labelValues)))
	}
	// Variable labels are written sorted by name, as client_golang does, so a
	// sample reads the same whatever order the descriptor names them in.
	idx := make([]int, len(d.labels))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return d.labels[idx[a]] < d.labels[idx[b]] })
	var b strings.Builder
	b.WriteString(d.constPairs)
	for _, i := range idx {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		writePair(&b, d.labels[i], labelValues[i])
	}
	return Metric{desc: d, typ: t, value: v, labels: b.String()}
}

// MustNewConstHistogram makes the samples of one histogram: counts[i] is the
// number of observations at most bounds[i] (cumulative, as the format wants),
// count all of them (the +Inf bucket) and sum their total. It panics on a
// wrong number of label values or of counts (a programming error).
func MustNewConstHistogram(d *Desc, bounds []float64, counts []uint64, count uint64, sum float64, labelValues ...string) []Metric {
	if len(counts) != len(bounds) {
		panic(fmt.Sprintf("prom: %s: %d bounds, %d counts", d.name, len(bounds), len(counts)))
	}
	base := MustNewConstMetric(d, HistogramValue, 0, labelValues...)
	join := func(extra string) string {
		if base.labels == "" {
			return extra
		}
		return base.labels + "," + extra
	}
	ms := make([]Metric, 0, len(bounds)+3)
	le := func(bound string, v uint64) {
		var b strings.Builder
		writePair(&b, "le", bound)
		ms = append(ms, Metric{desc: d, typ: HistogramValue, value: float64(v), labels: join(b.String()),
			suffix: "_bucket", part: len(ms), series: base.labels})
	}
	for i, ub := range bounds {
		le(formatValue(ub), counts[i])
	}
	le("+Inf", count)
	ms = append(ms, Metric{desc: d, typ: HistogramValue, value: sum, labels: base.labels, suffix: "_sum", part: len(ms), series: base.labels},
		Metric{desc: d, typ: HistogramValue, value: float64(count), labels: base.labels, suffix: "_count", part: len(ms) + 1, series: base.labels})
	return ms
}

// Collector makes its metrics at scrape time.
type Collector interface {
	Describe(chan<- *Desc)
	Collect(chan<- Metric)
}

// Gather runs every collector and returns the samples grouped by family (sorted
// by name) and, within one, sorted by their labels.
func Gather(cs ...Collector) []Metric {
	var all []Metric
	for _, c := range cs {
		ch := make(chan Metric, 64)
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer close(ch)
			c.Collect(ch)
		}()
		for m := range ch {
			all = append(all, m)
		}
		<-done
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.desc.name != b.desc.name {
			return a.desc.name < b.desc.name
		}
		if a.typ == HistogramValue {
			if a.series != b.series {
				return a.series < b.series
			}
			return a.part < b.part
		}
		return a.labels < b.labels
	})
	return all
}

// Write writes the samples in the text exposition format.
func Write(w io.Writer, ms []Metric) error {
	bw := bufio.NewWriter(w)
	for i, m := range ms {
		if i == 0 || ms[i-1].desc.name != m.desc.name {
			fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", m.desc.name, escapeHelp(m.desc.help), m.desc.name, m.typ)
		}
		bw.WriteString(m.desc.name)
		bw.WriteString(m.suffix)
		if m.labels != "" {
			bw.WriteByte('{')
			bw.WriteString(m.labels)
			bw.WriteByte('}')
		}
		bw.WriteByte(' ')
		bw.WriteString(formatValue(m.value))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// ContentType is the exposition format's media type.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Handler serves the collectors' metrics.
func Handler(cs ...Collector) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Cache-Control", "no-store")
		_ = Write(w, Gather(cs...))
	})
}

func writePair(b *strings.Builder, name, value string) {
	b.WriteString(name)
	b.WriteString(`="`)
	for _, r := range value {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// atomicFloat is a float64 that goroutines may add to at once.
type atomicFloat struct{ bits atomic.Uint64 }

func (v *atomicFloat) add(d float64) {
	for {
		old := v.bits.Load()
		if v.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

func (v *atomicFloat) get() float64 { return math.Float64frombits(v.bits.Load()) }

// Counter is a value that only goes up; it collects itself.
type Counter struct {
	desc   *Desc
	labels []string
	v      atomicFloat
}

// NewCounter makes a counter family of one metric.
func NewCounter(name, help string) *Counter { return &Counter{desc: NewDesc(name, help, nil, nil)} }

func (c *Counter) Inc()                     { c.v.add(1) }
func (c *Counter) Add(d float64)            { c.v.add(d) }
func (c *Counter) Value() float64           { return c.v.get() }
func (c *Counter) Describe(ch chan<- *Desc) { ch <- c.desc }
func (c *Counter) Collect(ch chan<- Metric) {
	ch <- MustNewConstMetric(c.desc, CounterValue, c.v.get(), c.labels...)
}

// Gauge is a value that goes up and down; it collects itself.
type Gauge struct {
	desc *Desc
	v    atomicFloat
}

// NewGauge makes a gauge family of one metric.
func NewGauge(name, help string) *Gauge { return &Gauge{desc: NewDesc(name, help, nil, nil)} }

func (g *Gauge) Inc()                     { g.v.add(1) }
func (g *Gauge) Dec()                     { g.v.add(-1) }
func (g *Gauge) Value() float64           { return g.v.get() }
func (g *Gauge) Describe(ch chan<- *Desc) { ch <- g.desc }
func (g *Gauge) Collect(ch chan<- Metric) { ch <- MustNewConstMetric(g.desc, GaugeValue, g.v.get()) }

// CounterVec is a counter family with labels: one Counter per set of label values.
type CounterVec struct {
	desc *Desc
	mu   sync.Mutex
	kids map[string]*Counter
}

// NewCounterVec makes a counter family whose metrics carry these labels.
func NewCounterVec(name, help string, labels []string) *CounterVec {
	return &CounterVec{desc: NewDesc(name, help, labels, nil), kids: map[string]*Counter{}}
}

// WithLabelValues is the family's counter for these label values, made on first use.
func (v *CounterVec) WithLabelValues(vals ...string) *Counter {
	key := strings.Join(vals, "\xff")
	v.mu.Lock()
	defer v.mu.Unlock()
	c := v.kids[key]
	if c == nil {
		c = &Counter{desc: v.desc, labels: append([]string(nil), vals...)}
		v.kids[key] = c
	}
	return c
}

func (v *CounterVec) Describe(ch chan<- *Desc) { ch <- v.desc }

func (v *CounterVec) Collect(ch chan<- Metric) {
	v.mu.Lock()
	kids := make([]*Counter, 0, len(v.kids))
	for _, c := range v.kids {
		kids = append(kids, c)
	}
	v.mu.Unlock()
	for _, c := range kids {
		c.Collect(ch)
	}
}

// Name is the metric's family name.
func (m Metric) Name() string { return m.desc.name }
