package main

import (
	"runtime"
	"runtime/debug"
)

// The garbage collector's settings for a process that lives as long as its
// container with well under a megabyte of live heap. Go's defaults (GOGC=100,
// no memory limit) let the heap grow to 4 MB before the first collection and keep
// freed pages for reuse: xinit-go's anonymous memory settled at about 7 MB under
// a soak of X and app restarts. With GOGC=50 and a soft limit of 8 MiB it settles
// at about 3.7 MB (docs/benchmarks.md). The limit is soft: past it the collector
// runs more often (at most half the CPU, by the runtime's own limiter), nothing
// fails. GOGC and GOMEMLIMIT in the environment override both, as for any Go
// program.
//
// The scheduler's: at most maxProcs threads run Go code at once. xinit-go waits
// on children, signals and sockets; its busiest work (counting the screen's
// updates, a few hundred wake-ups a second, and the browser view's copies) is
// hand-offs between goroutines, and with one P per core the runtime spins idle
// threads looking for work at each of them: on a 16-core H200 host, counting
// an app's 500 frames a second cost xinit-go half a core with 16 Ps and a
// twentieth of one on 2 cores (docs/benchmarks.md, docs/gpu.md). GOMAXPROCS in
// the environment overrides it; a CPU limit below it lowers it, as Go does.
const (
	gcPercent   = 50
	memoryLimit = 8 << 20
	maxProcs    = 2
)

// tuneGC applies the settings above where the environment does not set them.
func tuneGC(getenv func(string) string) {
	if getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) > maxProcs {
		runtime.GOMAXPROCS(maxProcs)
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}
