package soak

import "time"

// Series names a figure of a sample.
type Series struct {
	Name string
	Unit string
	Get  func(Sample) float64
}

// AllSeries are the figures a soak run follows.
var AllSeries = []Series{
	{"resident memory", "KB", func(s Sample) float64 { return float64(s.RSSKB) }},
	{"anonymous memory", "KB", func(s Sample) float64 { return float64(s.AnonKB) }},
	{"Go heap in use", "KB", func(s Sample) float64 { return s.HeapBytes / 1024 }},
	{"goroutines", "", func(s Sample) float64 { return float64(s.Goroutines) }},
	{"open fds", "", func(s Sample) float64 { return float64(s.FDs) }},
	{"shm segments", "", func(s Sample) float64 { return float64(s.Shm) }},
	{"shm segments of exited processes", "", func(s Sample) float64 { return float64(s.ShmOrphaned) }},
}

// Summary of one series after warm-up.
type Summary struct {
	Series
	First, Last, Min, Max, Mean float64
	// PerHour is the least-squares slope over time, in the series' unit per hour.
	PerHour float64
}

// After returns the samples taken at or after warm.
func After(samples []Sample, warm time.Duration) []Sample {
	for i, s := range samples {
		if s.At >= warm {
			return samples[i:]
		}
	}
	return nil
}

// Summarize fits each series of the samples.
func Summarize(samples []Sample) []Summary {
	var out []Summary
	for _, se := range AllSeries {
		sm := Summary{Series: se}
		if len(samples) == 0 {
			out = append(out, sm)
			continue
		}
		var sx, sy, sxx, sxy float64
		n := float64(len(samples))
		sm.First, sm.Last = se.Get(samples[0]), se.Get(samples[len(samples)-1])
		sm.Min, sm.Max = sm.First, sm.First
		for _, s := range samples {
			x, y := s.At.Hours(), se.Get(s)
			sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
			sm.Min, sm.Max = min(sm.Min, y), max(sm.Max, y)
		}
		sm.Mean = sy / n
		if d := n*sxx - sx*sx; d > 0 {
			sm.PerHour = (n*sxy - sx*sy) / d
		}
		out = append(out, sm)
	}
	return out
}
