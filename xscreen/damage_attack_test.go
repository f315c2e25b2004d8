package xscreen

import (
	"image"
	"syscall"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

// TestDamageDrawingDuringTheChangeOfLevelIsReported: drawing that the server
// serves after the Damage asked for per-emptying reports, but before the
// Damage read the new object's first report, is reported: the last frame of
// a flood (a page drawn after a burst of tiny requests) is not lost until the
// next drawing.
func TestDamageDrawingDuringTheChangeOfLevelIsReported(t *testing.T) {
	display := testutil.Xvfb(t)
	dm := watch(t, display)
	app, root, gc, _ := painter(t, display)
	// A flood: more than RawMost requests, all queued before the first Next.
	for i := range RawMost + 100 {
		xproto.PolyPoint(app, xproto.CoordModeOrigin, root, gc, []xproto.Point{{X: int16(i % 64)}})
	}
	roundTrip(t, app)
	time.Sleep(100 * time.Millisecond)
	for i := 0; dm.raw; i++ {
		if i > RawMost+100 {
			t.Fatal("no change of level after a flood")
		}
		if _, err := dm.Next(); err != nil {
			t.Fatal(err)
		}
	}
	// The change of level is at the server (the Damage's requests served)
	// when the app draws its frame; the Damage has not read anything since.
	roundTrip(t, dm.c.x)
	frame := image.Rect(300, 300, 320, 320)
	xproto.PolyFillRectangle(app, root, gc, []xproto.Rectangle{{X: 300, Y: 300, Width: 20, Height: 20}})
	roundTrip(t, app)
	seen := make(chan image.Rectangle, 100)
	go func() {
		defer close(seen)
		for {
			d, err := dm.Next()
			if err != nil {
				return
			}
			seen <- d.Area
		}
	}()
	deadline := time.After(2 * time.Second)
	for {
		select {
		case a := <-seen:
			if a.Overlaps(frame) {
				dm.Close()
				return
			}
		case <-deadline:
			dm.Close()
			for range seen {
			}
			t.Fatalf("the frame at %v drawn during the change of level not reported within 2 s", frame)
		}
	}
}

// cpu is the process's user and system time.
func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countFor runs Next for d in another goroutine while draw runs, and returns
// the reports, the longest wait between two, and the process's CPU time.
func countFor(t *testing.T, dm *Damage, d time.Duration, draw func(end time.Time)) (n int, gap, used time.Duration, raw bool) {
	t.Helper()
	type out struct {
		n   int
		gap time.Duration
		raw bool
	}
	done := make(chan out, 1)
	start := time.Now()
	c0 := cpu()
	go func() {
		var o out
		last := time.Now()
		for {
			if _, err := dm.Next(); err != nil {
				done <- o
				return
			}
			now := time.Now()
			if g := now.Sub(last); g > o.gap && now.Sub(start) < d {
				o.gap = g
			}
			last = now
			o.n++
			o.raw = dm.raw
		}
	}()
	draw(start.Add(d))
	used = cpu() - c0
	time.Sleep(100 * time.Millisecond)
	dm.Close()
	o := <-done
	return o.n, o.gap, used, o.raw
}

// manyChildren maps rows × cols small windows on the root: the root's own
// pixels are then a region of about rows × (cols+2) rectangles.
func manyChildren(t *testing.T, app *xgb.Conn, s *xproto.ScreenInfo, rows, cols int) {
	t.Helper()
	for y := range rows {
		for x := range cols {
			w, err := xproto.NewWindowId(app)
			if err != nil {
				t.Fatal(err)
			}
			xproto.CreateWindow(app, s.RootDepth, w, s.Root, int16(10+x*40), int16(10+y*40), 4, 4, 0,
				xproto.WindowClassInputOutput, s.RootVisual, 0, nil)
			xproto.MapWindow(app, w)
		}
	}
	roundTrip(t, app)
	time.Sleep(200 * time.Millisecond)
}

// TestDamageRequestsOfManyRectanglesAreAFlood: a request whose drawing the
// server reports as many rectangles (a fill of the root window around many
// child windows: one event a rectangle) costs the watcher one event a
// rectangle: the flood rule counts those events, so such requests, below
// RawMost a RawWindow, still end in per-emptying reports.
func TestDamageRequestsOfManyRectanglesAreAFlood(t *testing.T) {
	display := testutil.XvfbScreen(t, "1920x1080x24")
	dm := watch(t, display)
	app, root, gc, s := painter(t, display)
	const rows, cols = 25, 45
	const rects = rows*(cols+1) + rows + 1
	manyChildren(t, app, s, rows, cols)
	requests := 0
	n, gap, used, raw := countFor(t, dm, 3*time.Second, func(end time.Time) {
		// 200 requests a second: a tenth of RawMost a RawWindow.
		for next := time.Now(); time.Now().Before(end); next = next.Add(5 * time.Millisecond) {
			time.Sleep(time.Until(next))
			xproto.PolyFillRectangle(app, root, gc, []xproto.Rectangle{{Width: s.WidthInPixels, Height: s.HeightInPixels}})
			requests++
			if requests%20 == 0 {
				roundTrip(t, app)
			}
		}
	})
	t.Logf("%d requests of about %d rectangles in 3 s: %d reports, longest wait %v, %v of CPU, raw at the end: %v",
		requests, rects, n, gap, used, raw)
	if raw {
		t.Errorf("%d requests of about %d rectangles each (%d events a second) still reported request by request",
			requests, rects, requests*rects/3)
	}
}

// TestDamageReportsDuringAFlood (guard): while an app floods the server with tiny
// requests, Next keeps returning (the reports already queued are merged, but
// new ones arriving meanwhile do not hold it for ever), so the count goes on
// and the flood rule can act.
func TestDamageReportsDuringAFlood(t *testing.T) {
	display := testutil.Xvfb(t)
	dm := watch(t, display)
	app, root, gc, _ := painter(t, display)
	requests := 0
	n, gap, used, _ := countFor(t, dm, 3*time.Second, func(end time.Time) {
		for ; time.Now().Before(end); requests++ {
			xproto.PolyPoint(app, xproto.CoordModeOrigin, root, gc, []xproto.Point{{X: int16(requests % 64)}})
			if requests%100 == 0 {
				roundTrip(t, app)
			}
		}
	})
	t.Logf("%d requests in 3 s: %d reports, longest wait %v, %v of CPU", requests, n, gap, used)
	if gap > 500*time.Millisecond {
		t.Errorf("Next held %v during a flood", gap)
	}
}

// TestDamageRequestsOfManyRectanglesDoNotHoldNext: an app that fills the root
// window around many child windows as fast as the server serves it (each
// request about 1,200 events) gets its drawing reported at least every 0.4 s
// (before, 0.5 to 1.6 s): Next does not gather reports for as long as new ones
// keep arriving.
func TestDamageRequestsOfManyRectanglesDoNotHoldNext(t *testing.T) {
	display := testutil.XvfbScreen(t, "1920x1080x24")
	dm := watch(t, display)
	app, root, gc, s := painter(t, display)
	manyChildren(t, app, s, 25, 45)
	requests := 0
	n, gap, used, _ := countFor(t, dm, 2*time.Second, func(end time.Time) {
		for ; time.Now().Before(end); requests++ {
			xproto.PolyFillRectangle(app, root, gc, []xproto.Rectangle{{Width: s.WidthInPixels, Height: s.HeightInPixels}})
			if requests%20 == 0 {
				roundTrip(t, app)
			}
		}
	})
	t.Logf("%d requests in 2 s: %d reports, longest wait %v, %v of CPU", requests, n, gap, used)
	if gap > 400*time.Millisecond {
		t.Errorf("Next held %v while an app drew requests of many rectangles", gap)
	}
}

// TestDamageStalledServerDuringAChangeOfLevel (guard): a server stopped while
// the Damage changes level, and while it waits for a per-emptying report's
// region, holds Next; once it runs again the report is what was drawn, and
// the count goes on.
func TestDamageStalledServerDuringAChangeOfLevel(t *testing.T) {
	display := testutil.Xvfb(t)
	dm := watch(t, display)
	pid := serverPID(t, dm.c)
	stopped := false
	defer func() {
		if stopped {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}()
	app, root, gc, _ := painter(t, display)
	for i := range RawMost + 100 {
		xproto.PolyPoint(app, xproto.CoordModeOrigin, root, gc, []xproto.Point{{X: int16(i % 64)}})
	}
	roundTrip(t, app)
	time.Sleep(100 * time.Millisecond)
	// The Next that changes the level sends its requests to a stopped server.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped = true
	for i := 0; dm.raw; i++ {
		if i > RawMost+100 {
			t.Fatal("no change of level after a flood")
		}
		if _, err := dm.Next(); err != nil {
			t.Fatal(err)
		}
	}
	frame := image.Rect(300, 300, 320, 320)
	seen := make(chan Drawn, 100)
	ended := make(chan error, 1)
	go func() {
		for {
			d, err := dm.Next()
			if err != nil {
				ended <- err
				close(seen)
				return
			}
			seen <- d
		}
	}()
	time.Sleep(500 * time.Millisecond)
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stopped = false
	time.Sleep(100 * time.Millisecond)
	for i := range 2 {
		// Each drawing after the server's pause, each a report of where it drew.
		if i == 1 {
			time.Sleep(2 * DamageQuiet)
		}
		xproto.PolyFillRectangle(app, root, gc, []xproto.Rectangle{{X: 300, Y: 300, Width: 20, Height: 20}})
		roundTrip(t, app)
		time.Sleep(50 * time.Millisecond)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped = true
	xproto.PolyFillRectangle(app, root, gc, []xproto.Rectangle{{X: 300, Y: 300, Width: 20, Height: 20}})
	time.Sleep(300 * time.Millisecond)
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stopped = false
	time.Sleep(300 * time.Millisecond)
	dm.Close()
	if err := <-ended; err != ErrClosed {
		t.Errorf("Next after a stopped server: %v, want ErrClosed at Close", err)
	}
	hits := 0
	for d := range seen {
		if f := dm.Format(); !d.Area.In(image.Rect(0, 0, f.Width, f.Height)) {
			t.Errorf("report %v outside the screen", d.Area)
		}
		if d.Area.Overlaps(frame) {
			hits++
		}
	}
	if hits < 2 {
		t.Errorf("%d reports of the frame drawn after the server's pause, want each of 2 or 3", hits)
	}
}
