package gpu

import (
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
)

func TestSnapshot(t *testing.T) {
	dev := &mock.Device{
		GetNameFunc:             func() (string, nvml.Return) { return "NVIDIA H200", nvml.SUCCESS },
		GetUUIDFunc:             func() (string, nvml.Return) { return "GPU-x", nvml.SUCCESS },
		GetUtilizationRatesFunc: func() (nvml.Utilization, nvml.Return) { return nvml.Utilization{Gpu: 97, Memory: 40}, nvml.SUCCESS },
		GetMemoryInfoFunc:       func() (nvml.Memory, nvml.Return) { return nvml.Memory{Total: 8 << 30, Used: 1 << 30}, nvml.SUCCESS },
		GetClockInfoFunc: func(c nvml.ClockType) (uint32, nvml.Return) {
			return map[nvml.ClockType]uint32{nvml.CLOCK_GRAPHICS: 1980, nvml.CLOCK_SM: 1980, nvml.CLOCK_MEM: 3201}[c], nvml.SUCCESS
		},
		GetTemperatureFunc: func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED },
		GetCurrentClocksEventReasonsFunc: func() (uint64, nvml.Return) {
			return nvml.ClocksEventReasonSwPowerCap | nvml.ClocksThrottleReasonHwThermalSlowdown, nvml.SUCCESS
		},
		RegisterEventsFunc: func(uint64, nvml.EventSet) nvml.Return { return nvml.SUCCESS },
	}
	events := []nvml.EventData{{Device: dev, EventType: nvml.EventTypeXidCriticalError, EventData: 79}}
	set := &mock.EventSet{
		WaitFunc: func(uint32) (nvml.EventData, nvml.Return) {
			if len(events) == 0 {
				return nvml.EventData{}, nvml.ERROR_TIMEOUT
			}
			e := events[0]
			events = events[1:]
			return e, nvml.SUCCESS
		},
		FreeFunc: func() nvml.Return { return nvml.SUCCESS },
	}
	shut := 0
	lib := &mock.Interface{
		InitFunc:                   func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:               func() nvml.Return { shut++; return nvml.SUCCESS },
		ErrorStringFunc:            func(r nvml.Return) string { return "Not Supported" },
		SystemGetDriverVersionFunc: func() (string, nvml.Return) { return "580.159.04", nvml.SUCCESS },
		DeviceGetCountFunc:         func() (int, nvml.Return) { return 1, nvml.SUCCESS },
		DeviceGetHandleByIndexFunc: func(int) (nvml.Device, nvml.Return) { return dev, nvml.SUCCESS },
		EventSetCreateFunc:         func() (nvml.EventSet, nvml.Return) { return set, nvml.SUCCESS },
	}
	m := NVML{Lib: lib}.StartMonitor()
	s := m.Snapshot()
	m.Close()
	if s.Error != "" || s.Driver != "580.159.04" || len(s.GPUs) != 1 {
		t.Fatalf("%+v", s)
	}
	g := s.GPUs[0]
	if g.UtilizationGPU != 97 || g.MemoryUsedBytes != 1<<30 || g.ClockMemoryMHz != 3201 ||
		strings.Join(g.ThrottleReasons, ",") != "sw_power_cap,hw_thermal_slowdown" {
		t.Errorf("%+v", g)
	}
	if len(g.Unsupported) != 1 || !strings.HasPrefix(g.Unsupported[0], "temperature") {
		t.Errorf("unsupported %v", g.Unsupported)
	}
	if len(s.Xid) != 1 || s.Xid[0].Xid != 79 || s.Xid[0].GPU != "GPU-x" {
		t.Errorf("xid %+v", s.Xid)
	}
	if shut != 1 {
		t.Errorf("NVML shut down %d times", shut)
	}
}

func TestSnapshotWithoutGPU(t *testing.T) {
	lib := &mock.Interface{
		InitFunc:        func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND },
		ErrorStringFunc: func(nvml.Return) string { return "NVML Shared Library Not Found" },
	}
	m := NVML{Lib: lib}.StartMonitor()
	defer m.Close()
	s := m.Snapshot()
	if !strings.HasPrefix(s.Error, "no GPU: NVML: NVML Shared Library Not Found") || len(s.GPUs) != 0 || s.Xid == nil {
		t.Fatalf("%+v", s)
	}
}
