package xscreen

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

	"github.com/xinit-go/xinit-go/internal/testutil"
	"github.com/xinit-go/xinit-go/internal/xpaint"
)

// TestDamageCountsEachFrame: a client that fills the screen 40 times, one
// request a frame, is seen once a frame; nothing more is seen while nobody
// draws; Close ends a waiting Next. The frames go in lockstep with what is
// seen (the next drawn when the last was reported), so that a loaded machine
// cannot put two frames into one report and the count stays exact.
func TestDamageCountsEachFrame(t *testing.T) {
	display := testutil.Xvfb(t)
	dm, err := WatchDamage(context.Background(), Display{Num: display}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer dm.Close()
	got := make(chan time.Time, 1000)
	ended := make(chan error, 1)
	go func() {
		for {
			_, err := dm.Next()
			if err != nil {
				ended <- err
				return
			}
			got <- time.Now()
		}
	}()
	painter, err := xgb.NewConnDisplay(fmt.Sprintf(":%d", display))
	if err != nil {
		t.Fatal(err)
	}
	defer painter.Close()
	const frames = 40
	seen := 0
	for i := range frames {
		if n, err := xpaint.Paint(context.Background(), painter, 1000, 0, 1); err != nil || n != 1 {
			t.Fatalf("frame %d: painted %d: %v", i, n, err)
		}
		select {
		case <-got:
			seen++
		case <-time.After(5 * time.Second):
			t.Fatalf("frame %d not seen within 5 s", i)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if n := seen + len(got); n != frames {
		t.Errorf("%d updates seen for %d frames", n, frames)
	}
	time.Sleep(500 * time.Millisecond)
	if n := seen + len(got); n != frames {
		t.Errorf("%d updates seen with nobody drawing, want %d", n, frames)
	}
	dm.Close()
	select {
	case err := <-ended:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Next after Close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next still waits after Close")
	}
}

// TestDamageSetupDeadline: a server that completes the handshake and then
// stalls holds WatchDamage for its timeout, not longer.
func TestDamageSetupDeadline(t *testing.T) {
	real := testutil.Xvfb(t)
	stalled, _ := testutil.StallingProxy(t, real)
	const timeout = 300 * time.Millisecond
	took, err := within(t, 10*time.Second, func() error {
		_, err := WatchDamage(context.Background(), Display{Num: stalled}, timeout)
		return err
	})
	if err == nil || took > timeout+2*time.Second {
		t.Fatalf("error %v after %v, want a failure after about %v", err, took, timeout)
	}
}

// TestDamageFloodCostsOneEventAMillisecond: a client that floods the server
// with one-pixel requests, as fast as it can, costs the watcher at most one
// event a millisecond (DamageQuiet), not one per request or round trip.
func TestDamageFloodCostsOneEventAMillisecond(t *testing.T) {
	display := testutil.Xvfb(t)
	dm, err := WatchDamage(context.Background(), Display{Num: display}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer dm.Close()
	events := make(chan int, 1)
	go func() {
		n := 0
		for {
			if _, err := dm.Next(); err != nil {
				events <- n
				return
			}
			n++
		}
	}()
	flooder, err := xgb.NewConnDisplay(fmt.Sprintf(":%d", display))
	if err != nil {
		t.Fatal(err)
	}
	defer flooder.Close()
	s := xproto.Setup(flooder).DefaultScreen(flooder)
	gc, err := xproto.NewGcontextId(flooder)
	if err != nil {
		t.Fatal(err)
	}
	if err := xproto.CreateGCChecked(flooder, gc, xproto.Drawable(s.Root), xproto.GcForeground, []uint32{0xffffff}).Check(); err != nil {
		t.Fatal(err)
	}
	const flood = 2 * time.Second
	requests := 0
	for end := time.Now().Add(flood); time.Now().Before(end); requests++ {
		xproto.PolyPoint(flooder, xproto.CoordModeOrigin, xproto.Drawable(s.Root), gc, []xproto.Point{{X: int16(requests % 64)}})
		if requests%100 == 0 {
			_, _ = xproto.GetInputFocus(flooder).Reply()
		}
	}
	_, _ = xproto.GetInputFocus(flooder).Reply()
	time.Sleep(100 * time.Millisecond)
	dm.Close()
	n := <-events
	t.Logf("%d events for %d requests in %v", n, requests, flood)
	if n == 0 {
		t.Fatal("no event for a flood of drawing")
	}
	if most := int(flood/time.Millisecond) + 50; n > most {
		t.Errorf("%d events in %v of flooding, want at most %d", n, flood, most)
	}
}
