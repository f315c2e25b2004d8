package xorgconf

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./xorgconf -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func TestGolden(t *testing.T) {
	t4 := GPU{Name: "Tesla T4", BusID: BusID{Bus: 0, Device: 4}}
	cases := []struct {
		name string
		gpus []GPU
		o    Options
	}{
		{"nvidia-t4.conf", []GPU{t4}, Options{Flavour: Nvidia, Width: 1280, Height: 1024, Depth: 24}},
		{"nvidia-two-gpus.conf", []GPU{
			{Name: "NVIDIA H200", BusID: BusID{Bus: 0x1a}},
			{Name: "NVIDIA H200", BusID: BusID{Bus: 0x1b}},
		}, Options{Flavour: Nvidia, Width: 1920, Height: 1080, Depth: 24}},
		{"nvidia-domain.conf", []GPU{{Name: "NVIDIA A100", BusID: BusID{Domain: 2, Bus: 1}}}, Options{Flavour: Nvidia, Width: 1920, Height: 1080, Depth: 24, ConnectedMonitor: "DFP-0"}},
		{"dummy-1366x768.conf", nil, Options{Flavour: Dummy, Width: 1366, Height: 768, Depth: 24}},
		{"dummy-3840x2160.conf", nil, Options{Flavour: Dummy, Width: 3840, Height: 2160, Depth: 24}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Render(&b, c.gpus, c.o); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, must := range []string{`"AutoAddGPU" "false"`, `"AutoAddDevices" "false"`} {
				if !strings.Contains(out, must) {
					t.Errorf("missing %s", must)
				}
			}
			if strings.Contains(out, "UseDisplayDevice") {
				t.Error("UseDisplayDevice must never be written")
			}
			if c.o.Flavour == Nvidia {
				for _, must := range []string{`"ProbeAllGpus" "false"`, `"HardDPMS" "false"`, `"AllowEmptyInitialConfiguration" "true"`} {
					if strings.Count(out, must) < len(c.gpus) {
						t.Errorf("missing %s per GPU", must)
					}
				}
			}
			golden(t, c.name, b.Bytes())
		})
	}
}

func TestBusIDForms(t *testing.T) {
	cases := map[string]BusID{
		"PCI:0:4:0":        {Bus: 0, Device: 4},
		"pci:10:0:1":       {Bus: 10, Function: 1},
		"PCI:1@2:0:0":      {Domain: 2, Bus: 1},
		"00000000:1A:00.0": {Bus: 26},
		"0000:1a:00.0":     {Bus: 26},
		"1a:1f.7":          {Bus: 26, Device: 31, Function: 7},
		"00000002:C1:00.0": {Domain: 2, Bus: 193},
	}
	for in, want := range cases {
		got, err := ParseBusID(in)
		if err != nil || got != want {
			t.Errorf("ParseBusID(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	if s := (BusID{Bus: 26}).String(); s != "PCI:26:0:0" {
		t.Errorf("String = %s", s)
	}
	if s := (BusID{Domain: 2, Bus: 193}).String(); s != "PCI:193@2:0:0" {
		t.Errorf("String = %s", s)
	}
	if s := (BusID{Bus: 26}).Hex(); s != "00000000:1A:00.0" {
		t.Errorf("Hex = %s", s)
	}
	for _, bad := range []string{"", "PCI:", "PCI:0:4", "PCI:0:4:0:0", "PCI:a:4:0", "PCI:0:32:0", "PCI:0:4:8", "PCI:256:0:0", "1A:00", "zz:00.0", "PCI:-1:0:0", "PCI:+1:0:0", "0000:1A:00.8"} {
		if _, err := ParseBusID(bad); err == nil {
			t.Errorf("ParseBusID(%q) accepted", bad)
		} else if !strings.Contains(err.Error(), "PCI") {
			t.Errorf("ParseBusID(%q): error %q does not say what a BusID looks like", bad, err)
		}
	}
}

func FuzzParseBusID(f *testing.F) {
	for _, s := range []string{"PCI:0:4:0", "PCI:1@2:0:0", "00000000:1A:00.0", "1a:00.0", "PCI:255@65535:31:7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBusID(s)
		if err != nil {
			return
		}
		// Whatever parses must print in both forms and parse back to itself.
		for _, form := range []string{b.String(), b.Hex()} {
			back, err := ParseBusID(form)
			if err != nil || back != b {
				t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, b, form, back, err)
			}
		}
	})
}

func TestCVTMatchesTheCvtUtility(t *testing.T) {
	// cvt 1920 1080 60 prints: Modeline "1920x1080_60.00" 173.00 1920 2048 2248 2576 1080 1083 1088 1120 -hsync +vsync
	// cvt 1280 1024 60 prints: Modeline "1280x1024_60.00" 109.00 1280 1368 1496 1712 1024 1027 1034 1063 -hsync +vsync
	// cvt 3840 2160 60 prints: Modeline "3840x2160_60.00" 712.75 3840 4160 4576 5312 2160 2163 2168 2237 -hsync +vsync
	cases := map[[2]int]string{
		{1920, 1080}: `Modeline "1920x1080_60.00" 173.00  1920 2048 2248 2576  1080 1083 1088 1120 -hsync +vsync`,
		{1280, 1024}: `Modeline "1280x1024_60.00" 109.00  1280 1368 1496 1712  1024 1027 1034 1063 -hsync +vsync`,
		{3840, 2160}: `Modeline "3840x2160_60.00" 712.75  3840 4160 4576 5312  2160 2163 2168 2237 -hsync +vsync`,
	}
	for size, want := range cases {
		if got := CVT(size[0], size[1], 60).String(); got != want {
			t.Errorf("CVT(%v):\n got %s\nwant %s", size, got, want)
		}
	}
	m := CVT(1366, 768, 60)
	if m.HDisplay != 1366 || m.HSyncStart <= m.HDisplay || m.HTotal <= m.HSyncEnd {
		t.Errorf("1366x768: %s", m)
	}
}

func TestVideoRAMFitsTheFrameBuffer(t *testing.T) {
	for _, s := range [][3]int{{1366, 768, 24}, {7680, 4320, 24}, {16384, 16384, 30}, {640, 480, 16}} {
		kib := VideoRAM(s[0], s[1], s[2])
		bpp := 4
		if s[2] == 16 {
			bpp = 2
		}
		if kib*1024 < s[0]*s[1]*bpp {
			t.Errorf("%v: %d KiB is too small", s, kib)
		}
	}
}

func TestDummyModeFitsTheDriverClock(t *testing.T) {
	for _, size := range [][2]int{{1280, 1024}, {1920, 1080}, {3840, 2160}, {7680, 4320}, {16384, 16384}, {320, 200}} {
		m := DummyMode(size[0], size[1])
		if m.ClockMHz > DummyMaxClockMHz || m.ClockMHz <= 0 || m.HDisplay != size[0] || m.VDisplay != size[1] {
			t.Errorf("%v: %s", size, m)
		}
	}
	if m := DummyMode(1920, 1080); m.Name != "1920x1080_60.00" {
		t.Errorf("sizes that fit keep 60 Hz: %s", m)
	}
}
