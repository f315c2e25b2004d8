package xorgconf

import "fmt"

// Modeline is a video mode in xorg.conf terms.
type Modeline struct {
	Name                                   string
	ClockMHz                               float64
	HDisplay, HSyncStart, HSyncEnd, HTotal int
	VDisplay, VSyncStart, VSyncEnd, VTotal int
	Refresh                                float64
}

func (m Modeline) String() string {
	return fmt.Sprintf("Modeline %q %.2f  %d %d %d %d  %d %d %d %d -hsync +vsync",
		m.Name, m.ClockMHz, m.HDisplay, m.HSyncStart, m.HSyncEnd, m.HTotal,
		m.VDisplay, m.VSyncStart, m.VSyncEnd, m.VTotal)
}

// CVT computes VESA CVT timings (normal blanking), as the cvt utility does, for a
// mode of exactly width x height at refresh Hz. The blanking is computed for the
// width rounded up to the 8-pixel cell, then the visible width is set back to the
// exact value, so odd sizes such as 1366x768 get a mode of their own size.
func CVT(width, height int, refresh float64) Modeline {
	const (
		cellGran    = 8
		minVPorch   = 3
		minVSyncBP  = 550.0 // microseconds
		hsyncPct    = 8
		clockStep   = 250 // kHz
		mPrime      = 600 * 128 / 256
		cPrime      = (40-20)*128/256 + 20
		minBlankPct = 20.0
	)
	hd := (width + cellGran - 1) / cellGran * cellGran
	vd := height
	vsync := 10
	switch {
	case vd%3 == 0 && vd*4/3 == hd:
		vsync = 4
	case vd%9 == 0 && vd*16/9 == hd:
		vsync = 5
	case vd%10 == 0 && vd*16/10 == hd:
		vsync = 6
	case vd%4 == 0 && vd*5/4 == hd, vd%9 == 0 && vd*15/9 == hd:
		vsync = 7
	}
	hperiod := (1000000.0/refresh - minVSyncBP) / float64(vd+minVPorch) // microseconds
	vsbp := int(minVSyncBP/hperiod) + 1
	if vsbp < vsync+minVPorch {
		vsbp = vsync + minVPorch
	}
	vtotal := vd + vsbp + minVPorch
	blankPct := cPrime - mPrime*hperiod/1000.0
	if blankPct < minBlankPct {
		blankPct = minBlankPct
	}
	hblank := int(float64(hd) * blankPct / (100.0 - blankPct))
	hblank -= hblank % (2 * cellGran)
	htotal := hd + hblank
	hsyncEnd := hd + hblank/2
	hsyncStart := hsyncEnd - htotal*hsyncPct/100
	hsyncStart += cellGran - hsyncStart%cellGran
	clock := int(float64(htotal) * 1000.0 / hperiod) // kHz
	clock -= clock % clockStep
	return Modeline{
		Name:     fmt.Sprintf("%dx%d_%.2f", width, height, refresh),
		ClockMHz: float64(clock) / 1000.0,
		HDisplay: width, HSyncStart: hsyncStart, HSyncEnd: hsyncEnd, HTotal: htotal,
		VDisplay: vd, VSyncStart: vd + minVPorch, VSyncEnd: vd + minVPorch + vsync, VTotal: vtotal,
		Refresh: float64(clock) * 1000.0 / float64(htotal*vtotal),
	}
}
