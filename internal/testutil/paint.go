package testutil

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// Paint fills the whole of screen 0's root window, rate times a second on a
// fixed schedule (a late frame does not shift the ones after it), until ctx
// ends or frames have been drawn (0: no limit). For the first black stretch it
// paints black, then two colours in turn, none of them black: each frame is
// one request that changes every pixel, as a GL app's swap does. Each frame
// waits for the server to have drawn it. It returns the frames drawn.
func Paint(ctx context.Context, c *xgb.Conn, rate float64, black time.Duration, frames int) (int, error) {
	s := xproto.Setup(c).DefaultScreen(c)
	gc, err := xproto.NewGcontextId(c)
	if err != nil {
		return 0, err
	}
	if err := xproto.CreateGCChecked(c, gc, xproto.Drawable(s.Root), 0, nil).Check(); err != nil {
		return 0, err
	}
	full := []xproto.Rectangle{{Width: s.WidthInPixels, Height: s.HeightInPixels}}
	period := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for n := 0; frames == 0 || n < frames; n++ {
		colour := uint32(0x2060a0)
		switch {
		case time.Since(start) < black:
			colour = 0
		case n%2 == 1:
			colour = 0xa06020
		}
		xproto.ChangeGC(c, gc, xproto.GcForeground, []uint32{colour})
		if err := xproto.PolyFillRectangleChecked(c, xproto.Drawable(s.Root), gc, full).Check(); err != nil {
			return n, err
		}
		t := time.NewTimer(time.Until(start.Add(time.Duration(n+1) * period)))
		select {
		case <-ctx.Done():
			t.Stop()
			return n + 1, nil
		case <-t.C:
		}
	}
	return frames, nil
}

// paint is the stand-in: it paints $DISPLAY's screen at the rate given, black
// for the milliseconds given first, until killed.
func paint(rate float64, blackMillis int) int {
	c, err := xgb.NewConn()
	if err != nil {
		fmt.Fprintln(os.Stderr, "paint:", err)
		return 1
	}
	defer c.Close()
	if _, err := Paint(context.Background(), c, rate, time.Duration(blackMillis)*time.Millisecond, 0); err != nil {
		fmt.Fprintln(os.Stderr, "paint:", err)
		return 1
	}
	return 0
}
