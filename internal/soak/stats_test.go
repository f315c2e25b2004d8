package soak

import (
	"math"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var samples []Sample
	for i := 0; i <= 60; i++ {
		// RSS grows 1 KB a minute: 60 KB an hour; fds stay at 14.
		samples = append(samples, Sample{At: time.Duration(i) * time.Minute, RSSKB: 10000 + i, FDs: 14})
	}
	after := After(samples, 10*time.Minute)
	if len(after) != 51 || after[0].RSSKB != 10010 {
		t.Fatalf("After: %d samples from %+v", len(after), after[0])
	}
	sums := Summarize(after)
	got := map[string]Summary{}
	for _, s := range sums {
		got[s.Name] = s
	}
	if r := got["resident memory"]; math.Abs(r.PerHour-60) > 1e-6 || r.First != 10010 || r.Last != 10060 || r.Min != 10010 || r.Max != 10060 {
		t.Errorf("resident memory: %+v", r)
	}
	if f := got["open fds"]; math.Abs(f.PerHour) > 1e-9 || f.Mean != 14 {
		t.Errorf("open fds: %+v", f)
	}
	if len(Summarize(nil)) != len(AllSeries) {
		t.Error("Summarize(nil) should give one empty summary per series")
	}
}
