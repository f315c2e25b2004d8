package xscreen

import (
	"context"
	"errors"
	"fmt"
	"image"
	"time"

	"github.com/jezek/xgb/damage"
)

// Damage reports drawing on screen 0 through the X DAMAGE extension: events
// only, no pixels read. It watches the root window, so drawing into any window
// counts (a GL swap, a Vulkan present, PutImage, any X client's drawing), and
// costs nothing while nothing is drawn.
//
// It asks for an event whenever the bounding box of what has been drawn grows
// (DamageReportBoundingBox) and empties the damage as it takes each event, so
// each report says what was drawn since the last one: a frame copied in bands
// arrives as one report per band, each with its rows, and a burst of drawing
// is one report or a few, never thousands.
type Damage struct {
	c      *Conn
	damage damage.Damage
	// emptied is the sequence number of the last Subtract sent: a report
	// the server sent before it took that request is stale.
	emptied uint16
}

// Drawn is one report of drawing.
type Drawn struct {
	// Area is the bounding box of what was drawn since the damage was last
	// emptied.
	Area image.Rectangle
	// Stale: the server sent it before it had emptied the damage after the
	// previous report, so Area also holds what that report held. It is the
	// same burst of drawing as the previous report.
	Stale bool
}

// WatchDamage connects to a display (under ctx and timeout, as Dial) and
// starts watching screen 0's root window. Next returns each drawing.
func WatchDamage(ctx context.Context, d Display, timeout time.Duration) (*Damage, error) {
	c, err := Dial(ctx, d, timeout)
	if err != nil {
		return nil, err
	}
	dm, err := c.watchDamage(ctx)
	if err != nil {
		c.Close()
		return nil, err
	}
	return dm, nil
}

func (c *Conn) watchDamage(ctx context.Context) (*Damage, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { c.nc.Close() })
	id, seq, err := c.createDamage()
	if !stop() {
		return nil, fmt.Errorf("display %s: no answer to the DAMAGE extension's setup: %w", c.display, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("display %s: %w", c.display, err)
	}
	return &Damage{c: c, damage: id, emptied: seq}, nil
}

func (c *Conn) createDamage() (damage.Damage, uint16, error) {
	if err := damage.Init(c.x); err != nil {
		return 0, 0, fmt.Errorf("no DAMAGE extension: %w", err)
	}
	// The version must be asked before any other request of the extension.
	if _, err := damage.QueryVersion(c.x, 1, 1).Reply(); err != nil {
		return 0, 0, fmt.Errorf("DAMAGE QueryVersion: %w", err)
	}
	id, err := damage.NewDamageId(c.x)
	if err != nil {
		return 0, 0, err
	}
	if err := damage.CreateChecked(c.x, id, c.root, damage.ReportLevelBoundingBox).Check(); err != nil {
		return 0, 0, fmt.Errorf("DAMAGE Create on the root window: %w", err)
	}
	// The server reports a new damage object on a window as the whole window
	// damaged, at once: that event came before the reply above, so it is in
	// the queue now. It is no drawing; it is dropped and the damage emptied.
	for {
		ev, _ := c.x.PollForEvent()
		if ev == nil {
			break
		}
	}
	return id, damage.Subtract(c.x, id, 0, 0).Sequence, nil
}

// ErrClosed is Next's error once the connection has ended (Close, or the X
// server gone).
var ErrClosed = errors.New("xscreen: the connection to the X server has ended")

// Next waits for the next report of drawing on the screen. It blocks until
// there is one: Close (from another goroutine) ends the wait with ErrClosed.
// Only one goroutine may call Next.
func (dm *Damage) Next() (Drawn, error) {
	for {
		ev, err := dm.c.x.WaitForEvent()
		if ev == nil && err == nil {
			return Drawn{}, ErrClosed
		}
		if err != nil {
			// An X error of an unchecked request; nothing this loop sent can
			// fail but the Subtract of a damage the server forgot.
			return Drawn{}, fmt.Errorf("display %s: %w", dm.c.display, err)
		}
		n, ok := ev.(damage.NotifyEvent)
		if !ok || n.Damage != dm.damage {
			continue
		}
		d := Drawn{Area: image.Rect(int(n.Area.X), int(n.Area.Y), int(n.Area.X)+int(n.Area.Width), int(n.Area.Y)+int(n.Area.Height))}
		// An event carries the sequence number of the last request the server
		// had taken from this connection when it sent the event.
		if d.Stale = int16(n.Sequence-dm.emptied) < 0; !d.Stale {
			// Empty the damage: the next report holds only what is drawn next.
			// A stale report's damage is emptied by the Subtract on its way.
			dm.emptied = damage.Subtract(dm.c.x, dm.damage, 0, 0).Sequence
		}
		return d, nil
	}
}

// Format is screen 0's size and pixel layout.
func (dm *Damage) Format() Format { return dm.c.format }

// Close ends the watch and the connection at once, without waiting for the
// server; a Next in progress returns ErrClosed.
func (dm *Damage) Close() {
	dm.c.nc.Close()
	dm.c.x.Close()
}
