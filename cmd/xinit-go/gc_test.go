package main

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	pct, limit, procs := debug.SetGCPercent(100), debug.SetMemoryLimit(-1), runtime.GOMAXPROCS(0)
	t.Cleanup(func() { debug.SetGCPercent(pct); debug.SetMemoryLimit(limit); runtime.GOMAXPROCS(procs) })

	debug.SetGCPercent(100)
	debug.SetMemoryLimit(1 << 40)
	tuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GOGC unset: GC percent %d, want %d", got, gcPercent)
	}
	if got := debug.SetMemoryLimit(1 << 40); got != memoryLimit {
		t.Errorf("GOMEMLIMIT unset: memory limit %d, want %d", got, memoryLimit)
	}
	runtime.GOMAXPROCS(16)
	tuneGC(func(string) string { return "" })
	if got := runtime.GOMAXPROCS(0); got != maxProcs {
		t.Errorf("GOMAXPROCS unset on 16: %d, want %d", got, maxProcs)
	}
	runtime.GOMAXPROCS(1)
	tuneGC(func(string) string { return "" })
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS unset on 1: raised to %d", got)
	}

	runtime.GOMAXPROCS(16)
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(1 << 40)
	set := map[string]string{"GOGC": "200", "GOMEMLIMIT": "1GiB", "GOMAXPROCS": "16"}
	tuneGC(func(k string) string { return set[k] })
	if got := runtime.GOMAXPROCS(0); got != 16 {
		t.Errorf("GOMAXPROCS set: changed to %d", got)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC set: GC percent changed to %d", got)
	}
	if got := debug.SetMemoryLimit(1 << 40); got != 1<<40 {
		t.Errorf("GOMEMLIMIT set: memory limit changed to %d", got)
	}
}
