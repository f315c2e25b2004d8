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
)

// ValueType is a metric's type as the exposition format's TYPE line names it.
type ValueType int

// The value types xinit-go exports.
const (
	CounterValue ValueType = iota + 1
	GaugeValue
)

func (t ValueType) String() string {
	if t == CounterValue {
		return "counter"
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
}

// MustNewConstMetric makes a sample; it panics when the number of label values
// is not the descriptor's number of label names (a programming error).
func MustNewConstMetric(d *Desc, t ValueType, v float64, labelValues ...string) Metric {
	if len(labelValues) != len(d.labels) {
		panic(fmt.Sprintf("prom: %s has %d labels, got %d values", d.name, len(d.labels), len(labelValues)))
	}
	var b strings.Builder
	b.WriteString(d.constPairs)
	for i, name := range d.labels {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		writePair(&b, name, labelValues[i])
	}
	return Metric{desc: d, typ: t, value: v, labels: b.String()}
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
		if all[i].desc.name != all[j].desc.name {
			return all[i].desc.name < all[j].desc.name
		}
		return all[i].labels < all[j].labels
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
