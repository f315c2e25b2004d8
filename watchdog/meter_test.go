package watchdog

import (
	"image"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/xscreen"
)

// full is a report of drawing over the whole of a 1920x1080 screen.
var full = xscreen.Drawn{Area: image.Rect(0, 0, 1920, 1080)}

func band(i int) xscreen.Drawn { return xscreen.Drawn{Area: image.Rect(0, i*360, 1920, (i+1)*360)} }

var m0 = time.Unix(1_800_000_000, 0)

func newCounts() *counts { return &counts{hist: make([]uint64, len(IntervalBounds))} }

// TestCountsMergeAndRate: a frame copied in three bands (a report of the first
// two, then one of the third) is one update, the next frame over the same
// pixels the next;
// a steady 50 a second reads as 50 over whole seconds; the histogram holds
// each interval once, cumulatively.
func TestCountsMergeAndRate(t *testing.T) {
	c := newCounts()
	for i := range 250 { // 5 s at 50 a second
		at := m0.Add(time.Duration(i) * 20 * time.Millisecond)
		if !c.add(at, xscreen.Drawn{Area: image.Rect(0, 0, 1920, 720)}) {
			t.Fatalf("frame %d not counted", i)
		}
		if c.add(at.Add(3*time.Millisecond), band(2)) {
			t.Fatalf("frame %d's later bands counted as updates", i)
		}
	}
	if c.total != 250 {
		t.Fatalf("total %d", c.total)
	}
	if n := c.in(m0.Unix(), m0.Unix()+5); n != 250 {
		t.Errorf("in 5 whole seconds: %d", n)
	}
	if c.intervals != 249 || c.hist[len(c.hist)-1] != 249 {
		t.Errorf("intervals %d, last bucket %d", c.intervals, c.hist[len(c.hist)-1])
	}
	// 20 ms: above 16.7 ms, within 33.4 ms.
	if c.hist[4] != 0 || c.hist[5] != 249 {
		t.Errorf("buckets %v", c.hist)
	}
	end := m0.Add(5 * time.Second)
	if g := c.longestGap(end.Unix()-60, end, time.Time{}); g != 20*time.Millisecond {
		t.Errorf("longest gap %v, want 20ms (the current one is 20ms too)", g)
	}
	// A pause of 3 s, then one update: the gap is kept, and so is the current one.
	c.add(end.Add(3*time.Second), full)
	now := end.Add(7 * time.Second)
	if g := c.longestGap(now.Unix()-60, now, time.Time{}); g != 4*time.Second+20*time.Millisecond-20*time.Millisecond {
		t.Errorf("longest gap %v, want the current 4s", g)
	}
	if g := c.longestGap(now.Unix()-2, now, time.Time{}); g != 4*time.Second {
		t.Errorf("longest gap in 2 s %v", g)
	}
}

// TestRingForgets: counts older than the ring are not counted again when
// their slot is reused.
func TestRingForgets(t *testing.T) {
	c := newCounts()
	c.add(m0, full)
	later := m0.Add(ringSeconds * time.Second)
	c.add(later, full)
	if n := c.in(later.Unix()-5, later.Unix()+1); n != 1 {
		t.Errorf("%d updates in the window, want 1", n)
	}
}

// TestSlowRule: a steady 1 a second against a rule of 5 a second over 10 s
// fires once, after a whole window of the run; a static screen never does; a
// recovery re-arms it, and a new run is judged afresh.
func TestSlowRule(t *testing.T) {
	rule := SlowRule{Rate: 5, For: 10 * time.Second}
	c := newCounts()
	var s slowState
	start := m0
	fired := 0
	var at []time.Duration
	for sec := range 40 {
		now := start.Add(time.Duration(sec)*time.Second + 500*time.Millisecond)
		c.add(now.Add(-100*time.Millisecond), full)
		if fire, sl := judge(&s, c, rule, now, start, true); fire {
			fired++
			at = append(at, now.Sub(start))
			if sl.Updates != 10 || sl.Window != 10*time.Second || sl.PerSecond() != 1 {
				t.Errorf("slow %+v", sl)
			}
		}
	}
	if fired != 1 || at[0] < 10*time.Second || at[0] > 12*time.Second {
		t.Fatalf("fired %d times, at %v; want once, about 11 s in", fired, at)
	}
	// Recovery: 10 a second for 12 s, then slow again: a second report.
	for i := range 120 {
		c.add(start.Add(40*time.Second+time.Duration(i)*100*time.Millisecond), full)
	}
	if fire, _ := judge(&s, c, rule, start.Add(52*time.Second+500*time.Millisecond), start, true); fire || s.fired {
		t.Fatalf("fired at 10 a second")
	}
	for sec := 52; sec < 70; sec++ {
		c.add(start.Add(time.Duration(sec)*time.Second), full)
	}
	if fire, _ := judge(&s, c, rule, start.Add(69*time.Second+500*time.Millisecond), start, true); !fire {
		t.Error("not fired again after the recovery")
	}
	// A new run: nothing until a whole window of it has passed.
	restart := start.Add(70 * time.Second)
	for sec := 70; sec < 80; sec++ {
		c.add(start.Add(time.Duration(sec)*time.Second), full)
		if fire, _ := judge(&s, c, rule, start.Add(time.Duration(sec)*time.Second+500*time.Millisecond), restart, true); fire {
			t.Fatalf("fired %d s into a new run", sec-70)
		}
	}

	// Static: no update at all.
	c, s = newCounts(), slowState{}
	for sec := range 60 {
		if fire, _ := judge(&s, c, rule, start.Add(time.Duration(sec)*time.Second), start, true); fire {
			t.Fatal("a static screen was called slow")
		}
	}
	// Not running, or the rule off: nothing.
	c.add(start.Add(30*time.Second), full)
	if fire, _ := judge(&s, c, rule, start.Add(35*time.Second), start, false); fire {
		t.Error("judged while the app does not run")
	}
	if fire, _ := judge(&s, c, SlowRule{}, start.Add(35*time.Second), start, true); fire {
		t.Error("judged with the rule off")
	}
}

// TestCountsDisjointAndLate: drawing elsewhere within SpreadMax joins the
// update (a clock in a corner while a frame is copied); drawing elsewhere
// after a pause is an update of its own; a report over the same pixels is a
// new update however soon it comes (more than 1000 a second are counted).
func TestCountsDisjointAndLate(t *testing.T) {
	c := newCounts()
	corner := xscreen.Drawn{Area: image.Rect(1800, 1000, 1920, 1080)}
	steps := []struct {
		after time.Duration
		d     xscreen.Drawn
		new   bool
	}{
		{0, band(0), true},
		{time.Millisecond, corner, false},
		{200 * time.Millisecond, band(2), true},
		{200*time.Millisecond + 300*time.Microsecond, band(2), true},
		{200*time.Millisecond + 600*time.Microsecond, band(2), true},
	}
	for i, st := range steps {
		if got := c.add(m0.Add(st.after), st.d); got != st.new {
			t.Errorf("step %d: new update %v, want %v", i, got, st.new)
		}
	}
}
