package gpu

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/xinit-go/xinit-go/xorgconf"
)

// Device is one GPU as NVML reports it.
type Device struct {
	Index       int            `json:"index"`
	Name        string         `json:"name"`
	UUID        string         `json:"uuid"`
	BusID       xorgconf.BusID `json:"-"`
	MemoryBytes uint64         `json:"memory_bytes"`
	MIG         bool           `json:"mig"`
}

// XorgBusID is the BusID in xorg.conf's decimal form.
func (d Device) XorgBusID() string { return d.BusID.String() }

// Info is what NVML says about the machine.
type Info struct {
	Driver  string   `json:"driver_version"`
	CUDA    string   `json:"cuda_version,omitempty"`
	Devices []Device `json:"devices"`
}

// ErrNoGPU means NVML is not there or sees no GPU.
var ErrNoGPU = errors.New("no NVIDIA GPU")

// Source answers what GPUs there are. NVML is the real one.
type Source interface {
	Query() (Info, error)
}

// Select picks GPUs by XINIT_GPU's value: an index, a UUID, or "all".
func Select(devs []Device, which string) ([]Device, error) {
	if len(devs) == 0 {
		return nil, ErrNoGPU
	}
	if which == "" || which == "all" {
		if which == "" {
			return devs[:1], nil
		}
		return devs, nil
	}
	if n, err := strconv.Atoi(which); err == nil {
		for _, d := range devs {
			if d.Index == n {
				return []Device{d}, nil
			}
		}
		return nil, fmt.Errorf("XINIT_GPU=%s: no GPU with that index; NVML sees %d (indexes 0 to %d)", which, len(devs), len(devs)-1)
	}
	var uuids []string
	for _, d := range devs {
		if strings.EqualFold(d.UUID, which) {
			return []Device{d}, nil
		}
		uuids = append(uuids, d.UUID)
	}
	return nil, fmt.Errorf("XINIT_GPU=%s: no GPU with that UUID; NVML sees %s", which, strings.Join(uuids, ", "))
}
