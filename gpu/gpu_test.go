package gpu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh200"
)

// TestQueryDGXH200 reads go-nvml's model of an 8-GPU DGX H200.
func TestQueryDGXH200(t *testing.T) {
	info, err := NVML{Lib: dgxh200.New()}.Query()
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Devices) != 8 || info.Driver == "" {
		t.Fatalf("%+v", info)
	}
	for i, d := range info.Devices {
		if d.Index != i || !strings.Contains(d.Name, "H200") || !strings.HasPrefix(d.UUID, "GPU-") || d.MemoryBytes == 0 {
			t.Errorf("device %d: %+v", i, d)
		}
	}
	all, err := Select(info.Devices, "all")
	if err != nil || len(all) != 8 {
		t.Errorf("all: %d %v", len(all), err)
	}
	one, err := Select(info.Devices, info.Devices[3].UUID)
	if err != nil || one[0].Index != 3 {
		t.Errorf("by UUID: %+v %v", one, err)
	}
	if _, err := Select(info.Devices, "8"); err == nil || !strings.Contains(err.Error(), "indexes 0 to 7") {
		t.Errorf("index out of range: %v", err)
	}
}

// TestFunctionComesFromBusIdString: PciInfo has no function number.
func TestFunctionComesFromBusIdString(t *testing.T) {
	dev := &mock.Device{
		GetNameFunc: func() (string, nvml.Return) { return "NVIDIA H200", nvml.SUCCESS },
		GetUUIDFunc: func() (string, nvml.Return) { return "GPU-x", nvml.SUCCESS },
		GetPciInfoFunc: func() (nvml.PciInfo, nvml.Return) {
			p := nvml.PciInfo{Domain: 1, Bus: 0x1a, Device: 0}
			for i, c := range "00000001:1A:00.1" {
				p.BusId[i] = int8(c)
			}
			return p, nvml.SUCCESS
		},
		GetMemoryInfoFunc: func() (nvml.Memory, nvml.Return) { return nvml.Memory{Total: 1 << 30}, nvml.SUCCESS },
		GetMigModeFunc:    func() (int, int, nvml.Return) { return nvml.DEVICE_MIG_ENABLE, 0, nvml.SUCCESS },
	}
	lib := &mock.Interface{
		InitFunc:                       func() nvml.Return { return nvml.SUCCESS },
		ShutdownFunc:                   func() nvml.Return { return nvml.SUCCESS },
		SystemGetDriverVersionFunc:     func() (string, nvml.Return) { return "580.159.04", nvml.SUCCESS },
		SystemGetCudaDriverVersionFunc: func() (int, nvml.Return) { return 13000, nvml.SUCCESS },
		DeviceGetCountFunc:             func() (int, nvml.Return) { return 1, nvml.SUCCESS },
		DeviceGetHandleByIndexFunc:     func(int) (nvml.Device, nvml.Return) { return dev, nvml.SUCCESS },
	}
	info, err := NVML{Lib: lib}.Query()
	if err != nil {
		t.Fatal(err)
	}
	d := info.Devices[0]
	if d.BusID.String() != "PCI:26@1:0:1" || !d.MIG || info.CUDA != "13.0" {
		t.Errorf("%+v %s", d, d.BusID)
	}
}

func TestNoLibraryIsNoGPU(t *testing.T) {
	lib := &mock.Interface{
		InitFunc:        func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND },
		ErrorStringFunc: func(r nvml.Return) string { return "library not found" },
	}
	_, err := NVML{Lib: lib}.Query()
	if err == nil || !strings.Contains(err.Error(), ErrNoGPU.Error()) {
		t.Fatalf("%v", err)
	}
}

func TestFindXModulesReadsVersions(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "usr/lib/x86_64-linux-gnu/nvidia/xorg")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(dir, "nvidia_drv.so"), []byte("junk\x00nvidia X Driver  580.95.05  Release Build\x00"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "libglxserver_nvidia.so.580.95.05"), nil, 0o644)
	_ = os.Symlink("libglxserver_nvidia.so.580.95.05", filepath.Join(dir, "libglxserver_nvidia.so"))
	m := FindXModules(root, ModuleDirs)
	if m.Driver == nil || m.Driver.Version != "580.95.05" || m.GLX == nil || m.GLX.Version != "580.95.05" {
		t.Fatalf("%+v %+v", m.Driver, m.GLX)
	}
	if !strings.HasPrefix(m.Driver.Path, "/usr/lib") {
		t.Errorf("path %s", m.Driver.Path)
	}
}
