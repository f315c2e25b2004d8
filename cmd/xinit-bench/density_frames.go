package main

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The apps' own frame counts, read from their output as it arrives: each parsed
// line is a frameSample, the frames an app drew in the seconds that ended when the
// line arrived. What the density benchmark reports is the rate over the samples
// that lie wholly inside its measuring window, when every session was running.

// frameSample is frames drawn over the seconds that ended at at.
type frameSample struct {
	at      time.Time
	frames  float64
	seconds float64
}

// frameParser turns an app's output lines into samples; it may keep state
// between lines (the layer's swapchain is created on one line and counted on a
// later one).
type frameParser interface {
	line(at time.Time, s string) (frameSample, bool)
}

// glxgears prints "300 frames in 5.0 seconds = 59.940 FPS" every 5 s.
var glxgearsLine = regexp.MustCompile(`(\d+) frames in ([0-9.]+) seconds = [0-9.]+ FPS`)

type glxgearsParser struct{}

func (glxgearsParser) line(at time.Time, s string) (frameSample, bool) {
	m := glxgearsLine.FindStringSubmatch(s)
	if m == nil {
		return frameSample{}, false
	}
	frames, err1 := strconv.ParseFloat(m[1], 64)
	secs, err2 := strconv.ParseFloat(m[2], 64)
	if err1 != nil || err2 != nil || secs <= 0 {
		return frameSample{}, false
	}
	return frameSample{at: at, frames: frames, seconds: secs}, true
}

// glmark2 prints "[terrain] duration=5: FPS: 142 FrameTime: 7.042 ms" at the end
// of each run of a scene, which lasts the scene's duration option. Its FPS is a
// whole number; the frame time is finer (a slow scene shows FPS: 2).
var glmark2Line = regexp.MustCompile(`^\[[a-z0-9-]+\] .*FPS: ([0-9.]+) FrameTime: ([0-9.]+) ms`)

type glmark2Parser struct{ duration time.Duration }

func (p glmark2Parser) line(at time.Time, s string) (frameSample, bool) {
	m := glmark2Line.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return frameSample{}, false
	}
	fps, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return frameSample{}, false
	}
	if ms, err := strconv.ParseFloat(m[2], 64); err == nil && ms > 0 {
		fps = 1000 / ms
	}
	secs := p.duration.Seconds()
	return frameSample{at: at, frames: fps * secs, seconds: secs}, true
}

// VK_LAYER_XINIT_present prints a line when it creates a swapchain and, with
// XINIT_VK_PRESENT_STATS=1, its frame count when the app destroys it:
//
//	VK_LAYER_XINIT_present: swapchain 1920x1080, 3 images on NVIDIA H200, presented by copy to X window ...
//	VK_LAYER_XINIT_present: swapchain 1920x1080: 2998 frames shown, 2 dropped; per shown frame ...
//
// A sample is one swapchain's life: the frames the app presented (shown and
// dropped) from the first line's arrival to the second's.
var (
	layerCreated = regexp.MustCompile(`VK_LAYER_XINIT_present: swapchain \d+x\d+, \d+ images on .*presented by copy`)
	layerStats   = regexp.MustCompile(`VK_LAYER_XINIT_present: swapchain \d+x\d+: (\d+) frames shown, (\d+) dropped`)
)

type layerParser struct{ created time.Time }

func (p *layerParser) line(at time.Time, s string) (frameSample, bool) {
	if layerCreated.MatchString(s) {
		p.created = at
		return frameSample{}, false
	}
	m := layerStats.FindStringSubmatch(s)
	if m == nil || p.created.IsZero() {
		return frameSample{}, false
	}
	shown, _ := strconv.ParseFloat(m[1], 64)
	dropped, _ := strconv.ParseFloat(m[2], 64)
	secs := at.Sub(p.created).Seconds()
	p.created = time.Time{}
	if secs <= 0 {
		return frameSample{}, false
	}
	return frameSample{at: at, frames: shown + dropped, seconds: secs}, true
}

// rateIn is the frame rate over the samples that began at or after from and ended
// at or before to, and how many there were; 0, 0 when none did.
func rateIn(samples []frameSample, from, to time.Time) (fps float64, n int) {
	var frames, secs float64
	for _, s := range samples {
		begin := s.at.Add(-time.Duration(s.seconds * float64(time.Second)))
		if begin.Before(from) || s.at.After(to) {
			continue
		}
		frames += s.frames
		secs += s.seconds
		n++
	}
	if secs == 0 {
		return 0, 0
	}
	return frames / secs, n
}
