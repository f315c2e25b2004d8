package gpu

import (
	"fmt"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// Snapshot is the GPUs' state at one moment, for the failure bundle.
type Snapshot struct {
	Time   time.Time  `json:"time"`
	Driver string     `json:"driver_version,omitempty"`
	Error  string     `json:"error,omitempty"` // "no GPU: ..." when NVML is absent or sees none
	GPUs   []GPUState `json:"gpus,omitempty"`
	// Xid errors NVML reported since the monitor started (critical Xid events).
	Xid []Xid `json:"xid_errors"`
}

// GPUState is one GPU in a Snapshot. A field NVML does not answer stays zero
// and its name is listed in Unsupported.
type GPUState struct {
	Index             int      `json:"index"`
	Name              string   `json:"name"`
	UUID              string   `json:"uuid"`
	UtilizationGPU    uint32   `json:"utilization_gpu_percent"`
	UtilizationMemory uint32   `json:"utilization_memory_percent"`
	MemoryUsedBytes   uint64   `json:"memory_used_bytes"`
	MemoryTotalBytes  uint64   `json:"memory_total_bytes"`
	ClockGraphicsMHz  uint32   `json:"clock_graphics_mhz"`
	ClockSMMHz        uint32   `json:"clock_sm_mhz"`
	ClockMemoryMHz    uint32   `json:"clock_memory_mhz"`
	TemperatureC      uint32   `json:"temperature_c"`
	ThrottleReasons   []string `json:"throttle_reasons"`
	Unsupported       []string `json:"unsupported,omitempty"`
}

// Xid is one Xid error event.
type Xid struct {
	Time  time.Time `json:"time"` // when the monitor collected it
	GPU   string    `json:"gpu"`  // UUID
	Xid   uint64    `json:"xid"`
	Event uint64    `json:"event_type"`
}

// Monitor keeps NVML open for a session to take snapshots and collect Xid errors.
type Monitor interface {
	Snapshot() Snapshot
	Close()
}

// throttleNames are NVML's clock event (throttle) reasons.
var throttleNames = []struct {
	bit  uint64
	name string
}{
	{nvml.ClocksEventReasonGpuIdle, "gpu_idle"},
	{nvml.ClocksEventReasonApplicationsClocksSetting, "applications_clocks_setting"},
	{nvml.ClocksEventReasonSwPowerCap, "sw_power_cap"},
	{nvml.ClocksThrottleReasonHwSlowdown, "hw_slowdown"},
	{nvml.ClocksEventReasonSyncBoost, "sync_boost"},
	{nvml.ClocksEventReasonSwThermalSlowdown, "sw_thermal_slowdown"},
	{nvml.ClocksThrottleReasonHwThermalSlowdown, "hw_thermal_slowdown"},
	{nvml.ClocksThrottleReasonHwPowerBrakeSlowdown, "hw_power_brake_slowdown"},
	{nvml.ClocksEventReasonDisplayClockSetting, "display_clock_setting"},
}

// ThrottleReasons names the bits of a clock event reasons mask.
func ThrottleReasons(mask uint64) []string {
	out := []string{}
	for _, t := range throttleNames {
		if mask&t.bit != 0 {
			out = append(out, t.name)
		}
	}
	return out
}

// StartMonitor initialises NVML and registers for Xid errors on every GPU. It
// never fails: without NVML or a GPU, its snapshots say "no GPU" and why.
func (n NVML) StartMonitor() Monitor {
	lib := n.Lib
	if lib == nil {
		lib = nvml.New()
	}
	m := &nvmlMonitor{lib: lib}
	if ret := lib.Init(); ret != nvml.SUCCESS {
		m.err = "no GPU: NVML: " + lib.ErrorString(ret)
		return m
	}
	m.open = true
	count, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS || count == 0 {
		m.err = "no GPU: NVML sees no device"
		return m
	}
	if set, ret := lib.EventSetCreate(); ret == nvml.SUCCESS {
		m.set = set
	}
	for i := 0; i < count; i++ {
		dev, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			continue
		}
		m.devs = append(m.devs, dev)
		if m.set != nil {
			// A GPU that cannot report Xid events (some virtual ones) still gets snapshots.
			_ = dev.RegisterEvents(nvml.EventTypeXidCriticalError, m.set)
		}
	}
	return m
}

type nvmlMonitor struct {
	mu   sync.Mutex
	lib  nvml.Interface
	open bool
	err  string
	set  nvml.EventSet
	devs []nvml.Device
	xid  []Xid
}

func (m *nvmlMonitor) Snapshot() Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Snapshot{Time: time.Now().UTC(), Error: m.err, Xid: []Xid{}}
	if !m.open || m.err != "" {
		return s
	}
	if v, ret := m.lib.SystemGetDriverVersion(); ret == nvml.SUCCESS {
		s.Driver = v
	}
	m.drainXid()
	s.Xid = append(s.Xid, m.xid...)
	for i, dev := range m.devs {
		g := GPUState{Index: i, ThrottleReasons: []string{}}
		miss := func(what string, ret nvml.Return) {
			if ret != nvml.SUCCESS {
				g.Unsupported = append(g.Unsupported, fmt.Sprintf("%s (%s)", what, m.lib.ErrorString(ret)))
			}
		}
		var ret nvml.Return
		g.Name, ret = dev.GetName()
		miss("name", ret)
		g.UUID, _ = dev.GetUUID()
		u, ret := dev.GetUtilizationRates()
		miss("utilization", ret)
		g.UtilizationGPU, g.UtilizationMemory = u.Gpu, u.Memory
		mem, ret := dev.GetMemoryInfo()
		miss("memory", ret)
		g.MemoryUsedBytes, g.MemoryTotalBytes = mem.Used, mem.Total
		g.ClockGraphicsMHz, ret = dev.GetClockInfo(nvml.CLOCK_GRAPHICS)
		miss("graphics clock", ret)
		g.ClockSMMHz, ret = dev.GetClockInfo(nvml.CLOCK_SM)
		miss("SM clock", ret)
		g.ClockMemoryMHz, ret = dev.GetClockInfo(nvml.CLOCK_MEM)
		miss("memory clock", ret)
		g.TemperatureC, ret = dev.GetTemperature(nvml.TEMPERATURE_GPU)
		miss("temperature", ret)
		mask, ret := dev.GetCurrentClocksEventReasons()
		miss("throttle reasons", ret)
		g.ThrottleReasons = ThrottleReasons(mask)
		s.GPUs = append(s.GPUs, g)
	}
	return s
}

// drainXid takes every Xid event waiting in the set, without waiting.
func (m *nvmlMonitor) drainXid() {
	if m.set == nil {
		return
	}
	for i := 0; i < 1000; i++ {
		ev, ret := m.set.Wait(0)
		if ret != nvml.SUCCESS {
			return
		}
		uuid := ""
		if ev.Device != nil {
			uuid, _ = ev.Device.GetUUID()
		}
		m.xid = append(m.xid, Xid{Time: time.Now().UTC(), GPU: uuid, Xid: ev.EventData, Event: ev.EventType})
	}
}

func (m *nvmlMonitor) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.set != nil {
		m.set.Free()
		m.set = nil
	}
	if m.open {
		m.lib.Shutdown()
		m.open = false
	}
}
