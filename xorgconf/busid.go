package xorgconf

import (
	"fmt"
	"strconv"
	"strings"
)

// BusID is a PCI address.
type BusID struct {
	Domain, Bus, Device, Function int
}

// String is the form xorg.conf wants: decimal, with @domain only when not 0.
func (b BusID) String() string {
	if b.Domain != 0 {
		return fmt.Sprintf("PCI:%d@%d:%d:%d", b.Bus, b.Domain, b.Device, b.Function)
	}
	return fmt.Sprintf("PCI:%d:%d:%d", b.Bus, b.Device, b.Function)
}

// Hex is the form NVML and nvidia-smi print: 00000000:1A:00.0.
func (b BusID) Hex() string {
	return fmt.Sprintf("%08X:%02X:%02X.%X", b.Domain, b.Bus, b.Device, b.Function)
}

const busIDExample = "want PCI:BUS:DEV:FUNC (decimal, e.g. PCI:0:4:0), PCI:BUS@DOMAIN:DEV:FUNC, or nvidia-smi's hex 00000000:1A:00.0"

// ParseBusID reads PCI:bus:dev:func and PCI:bus@domain:dev:func (decimal, as in
// xorg.conf) and DOMAIN:BUS:DEV.FUNC (hex, as NVML, nvidia-smi and lspci -D print;
// the domain may be left out).
func ParseBusID(s string) (BusID, error) {
	s = strings.TrimSpace(s)
	var b BusID
	var err error
	if rest, ok := cutPrefixFold(s, "PCI:"); ok {
		parts := strings.Split(rest, ":")
		if len(parts) != 3 {
			return b, fmt.Errorf("%s", busIDExample)
		}
		bus, dom, hasDom := strings.Cut(parts[0], "@")
		if b.Bus, err = num(bus, 10); err != nil {
			return b, err
		}
		if hasDom {
			if b.Domain, err = num(dom, 10); err != nil {
				return b, err
			}
		}
		if b.Device, err = num(parts[1], 10); err != nil {
			return b, err
		}
		if b.Function, err = num(parts[2], 10); err != nil {
			return b, err
		}
	} else {
		head, fn, ok := strings.Cut(s, ".")
		if !ok {
			return b, fmt.Errorf("%s", busIDExample)
		}
		parts := strings.Split(head, ":")
		if len(parts) == 2 {
			parts = append([]string{"0"}, parts...)
		}
		if len(parts) != 3 {
			return b, fmt.Errorf("%s", busIDExample)
		}
		if b.Domain, err = num(parts[0], 16); err != nil {
			return b, err
		}
		if b.Bus, err = num(parts[1], 16); err != nil {
			return b, err
		}
		if b.Device, err = num(parts[2], 16); err != nil {
			return b, err
		}
		if b.Function, err = num(fn, 16); err != nil {
			return b, err
		}
	}
	switch {
	case b.Domain > 0xffffffff:
		return b, fmt.Errorf("PCI domain %d is out of range", b.Domain)
	case b.Bus > 255:
		return b, fmt.Errorf("PCI bus %d is out of range 0-255", b.Bus)
	case b.Device > 31:
		return b, fmt.Errorf("PCI device %d is out of range 0-31", b.Device)
	case b.Function > 7:
		return b, fmt.Errorf("PCI function %d is out of range 0-7", b.Function)
	}
	return b, nil
}

func num(s string, base int) (int, error) {
	if s == "" || len(s) > 10 || strings.ContainsAny(s, "+-_") {
		return 0, fmt.Errorf("%s", busIDExample)
	}
	n, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return 0, fmt.Errorf("%s", busIDExample)
	}
	return int(n), nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
