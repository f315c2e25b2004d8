package main

import "runtime/debug"

// The garbage collector's settings for a process that lives as long as its
// container with well under a megabyte of live heap. Go's defaults (GOGC=100,
// no memory limit) let the heap grow to 4 MB before the first collection and keep
// freed pages for reuse: xinit-go's anonymous memory settled at about 7 MB under
// a soak of X and app restarts. With GOGC=50 and a soft limit of 8 MiB it settles
// at about 3.7 MB (docs/benchmarks.md). The limit is soft: past it the collector
// runs more often (at most half the CPU, by the runtime's own limiter), nothing
// fails. GOGC and GOMEMLIMIT in the environment override both, as for any Go
// program.
const (
	gcPercent   = 50
	memoryLimit = 8 << 20
)

// tuneGC applies the settings above where the environment does not set them.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}
