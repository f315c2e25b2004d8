package prom

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
)

// The process_* families, as Prometheus' client libraries name them.
var (
	descCPU       = NewDesc("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", nil, nil)
	descOpenFDs   = NewDesc("process_open_fds", "Number of open file descriptors.", nil, nil)
	descMaxFDs    = NewDesc("process_max_fds", "Maximum number of open file descriptors.", nil, nil)
	descVirtual   = NewDesc("process_virtual_memory_bytes", "Virtual memory size in bytes.", nil, nil)
	descResident  = NewDesc("process_resident_memory_bytes", "Resident memory size in bytes.", nil, nil)
	descStartTime = NewDesc("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", nil, nil)
)

// ProcessCollector exports the process_* families of this process, read from
// /proc/self at each scrape.
type ProcessCollector struct{}

// Describe sends the descriptors.
func (ProcessCollector) Describe(ch chan<- *Desc) {
	for _, d := range []*Desc{descCPU, descOpenFDs, descMaxFDs, descVirtual, descResident, descStartTime} {
		ch <- d
	}
}

// userHZ is the unit of /proc's tick counts: 100 on every Linux architecture Go
// supports (sysconf(_SC_CLK_TCK) without cgo).
const userHZ = 100

// Collect sends what /proc/self tells now; a figure that cannot be read is left out.
func (ProcessCollector) Collect(ch chan<- Metric) {
	if f := selfStat(); f != nil {
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		start, _ := strconv.ParseFloat(f[19], 64)
		vsize, _ := strconv.ParseFloat(f[20], 64)
		rss, _ := strconv.ParseFloat(f[21], 64)
		ch <- MustNewConstMetric(descCPU, CounterValue, (utime+stime)/userHZ)
		ch <- MustNewConstMetric(descVirtual, GaugeValue, vsize)
		ch <- MustNewConstMetric(descResident, GaugeValue, rss*float64(os.Getpagesize()))
		if boot := bootTime(); boot > 0 {
			ch <- MustNewConstMetric(descStartTime, GaugeValue, boot+start/userHZ)
		}
	}
	if d, err := os.Open("/proc/self/fd"); err == nil {
		names, err := d.Readdirnames(-1)
		d.Close()
		if err == nil {
			ch <- MustNewConstMetric(descOpenFDs, GaugeValue, float64(len(names)-1)) // less the one just opened
		}
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		ch <- MustNewConstMetric(descMaxFDs, GaugeValue, float64(rl.Cur))
	}
}

// selfStat returns /proc/self/stat's fields after the command name, numbered
// from the state field as 0 (so field N of proc(5) is at N-3).
func selfStat() []string {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return nil
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 22 {
		return nil
	}
	return f
}

func bootTime() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			t, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return t
		}
	}
	return 0
}

// The go_* families: the names Prometheus' Go client uses, read from
// runtime/metrics (which, unlike runtime.ReadMemStats, does not stop the world).
var (
	descGoroutines = NewDesc("go_goroutines", "Number of goroutines that currently exist.", nil, nil)
	descThreads    = NewDesc("go_threads", "Number of OS threads created.", nil, nil)
	descGoInfo     = NewDesc("go_info", "Information about the Go environment.", []string{"version"}, nil)
	descGCCycles   = NewDesc("go_gc_cycles_total", "Completed GC cycles.", nil, nil)
	goSamples      = []struct {
		runtimeName string
		desc        *Desc
		typ         ValueType
	}{
		{"/memory/classes/heap/objects:bytes", NewDesc("go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and still in use.", nil, nil), GaugeValue},
		{"/gc/heap/objects:objects", NewDesc("go_memstats_heap_objects", "Number of allocated objects.", nil, nil), GaugeValue},
		{"/gc/heap/allocs:bytes", NewDesc("go_memstats_alloc_bytes_total", "Total number of bytes allocated, even if freed.", nil, nil), CounterValue},
		{"/memory/classes/total:bytes", NewDesc("go_memstats_sys_bytes", "Number of bytes obtained from system.", nil, nil), GaugeValue},
		{"/memory/classes/heap/stacks:bytes", NewDesc("go_memstats_stack_inuse_bytes", "Number of bytes in use by the stack allocator.", nil, nil), GaugeValue},
		{"/memory/classes/heap/released:bytes", NewDesc("go_memstats_heap_released_bytes", "Number of heap bytes released to OS.", nil, nil), GaugeValue},
		{"/gc/heap/goal:bytes", NewDesc("go_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place.", nil, nil), GaugeValue},
		{"/gc/gomemlimit:bytes", NewDesc("go_gc_gomemlimit_bytes", "Go runtime memory limit configured by the user.", nil, nil), GaugeValue},
		{"/gc/gogc:percent", NewDesc("go_gc_gogc_percent", "Heap size target percentage configured by the user.", nil, nil), GaugeValue},
	}
)

// GoCollector exports the go_* families of this process.
type GoCollector struct{}

// Describe sends the descriptors.
func (GoCollector) Describe(ch chan<- *Desc) {
	ch <- descGoroutines
	ch <- descThreads
	ch <- descGoInfo
	ch <- descGCCycles
	for _, s := range goSamples {
		ch <- s.desc
	}
}

// Collect reads the runtime's figures now.
func (GoCollector) Collect(ch chan<- Metric) {
	ch <- MustNewConstMetric(descGoroutines, GaugeValue, float64(runtime.NumGoroutine()))
	threads, _ := runtime.ThreadCreateProfile(nil)
	ch <- MustNewConstMetric(descThreads, GaugeValue, float64(threads))
	ch <- MustNewConstMetric(descGoInfo, GaugeValue, 1, runtime.Version())
	samples := make([]metrics.Sample, len(goSamples)+1)
	for i, s := range goSamples {
		samples[i].Name = s.runtimeName
	}
	samples[len(goSamples)].Name = "/gc/cycles/total:gc-cycles"
	metrics.Read(samples)
	for i, s := range goSamples {
		if v, ok := value(samples[i]); ok {
			ch <- MustNewConstMetric(s.desc, s.typ, v)
		}
	}
	if v, ok := value(samples[len(goSamples)]); ok {
		ch <- MustNewConstMetric(descGCCycles, CounterValue, v)
	}
}

func value(s metrics.Sample) (float64, bool) {
	switch s.Value.Kind() {
	case metrics.KindUint64:
		return float64(s.Value.Uint64()), true
	case metrics.KindFloat64:
		return s.Value.Float64(), true
	}
	return 0, false
}
