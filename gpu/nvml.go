package gpu

import (
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/xinit-go/xinit-go/xorgconf"
)

// NVML is the Source backed by libnvidia-ml.so.1.
type NVML struct {
	// Lib is the NVML interface; nil means nvml.New().
	Lib nvml.Interface
}

// Query initialises NVML, lists the devices and shuts NVML down again.
func (n NVML) Query() (info Info, err error) {
	lib := n.Lib
	if lib == nil {
		lib = nvml.New()
	}
	if ret := lib.Init(); ret != nvml.SUCCESS {
		if ret == nvml.ERROR_LIBRARY_NOT_FOUND || ret == nvml.ERROR_DRIVER_NOT_LOADED || ret == nvml.ERROR_NO_PERMISSION {
			return info, fmt.Errorf("%w: NVML: %s", ErrNoGPU, lib.ErrorString(ret))
		}
		return info, fmt.Errorf("NVML init: %s", lib.ErrorString(ret))
	}
	defer lib.Shutdown()
	if v, ret := lib.SystemGetDriverVersion(); ret == nvml.SUCCESS {
		info.Driver = v
	}
	if v, ret := lib.SystemGetCudaDriverVersion(); ret == nvml.SUCCESS {
		info.CUDA = fmt.Sprintf("%d.%d", v/1000, v%1000/10)
	}
	count, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return info, fmt.Errorf("NVML device count: %s", lib.ErrorString(ret))
	}
	if count == 0 {
		return info, fmt.Errorf("%w: NVML sees no device (check NVIDIA_VISIBLE_DEVICES and the GPU request)", ErrNoGPU)
	}
	for i := 0; i < count; i++ {
		dev, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return info, fmt.Errorf("NVML device %d: %s", i, lib.ErrorString(ret))
		}
		d := Device{Index: i}
		if d.Name, ret = dev.GetName(); ret != nvml.SUCCESS {
			d.Name = "NVIDIA GPU"
		}
		d.UUID, _ = dev.GetUUID()
		pci, ret := dev.GetPciInfo()
		if ret != nvml.SUCCESS {
			return info, fmt.Errorf("NVML device %d PCI info: %s", i, lib.ErrorString(ret))
		}
		busID := cString(pci.BusId[:])
		b, err := xorgconf.ParseBusID(busID)
		if err != nil {
			// PciInfo has no function number; fall back to its numeric fields.
			b = xorgconf.BusID{Domain: int(pci.Domain), Bus: int(pci.Bus), Device: int(pci.Device)}
		}
		d.BusID = b
		if mem, ret := dev.GetMemoryInfo(); ret == nvml.SUCCESS {
			d.MemoryBytes = mem.Total
		}
		if cur, _, ret := dev.GetMigMode(); ret == nvml.SUCCESS {
			d.MIG = cur == nvml.DEVICE_MIG_ENABLE
		}
		info.Devices = append(info.Devices, d)
	}
	return info, nil
}

func cString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}
