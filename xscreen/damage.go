package xscreen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jezek/xgb/damage"
	"github.com/jezek/xgb/xproto"
)

// Damage reports drawing on screen 0 through the X DAMAGE extension: events
// only, no pixels read. It watches the root window, so drawing into any window
// counts (a GL swap, a Vulkan present, PutImage, any X client's drawing), and
// costs nothing while nothing is drawn.
//
// It asks for one event when the screen goes from undamaged to damaged
// (DamageReportLevelNonEmpty) and empties the damage again DamageQuiet after
// it took each, so events come at most one per DamageQuiet and round trip,
// however much is drawn: a client that floods the server with tiny requests
// costs one event a millisecond, not one per request.
type Damage struct {
	c      *Conn
	damage damage.Damage
	taken  time.Time // when Next returned the last event; the next Next empties the damage
}

// DamageQuiet is how long after an event the damage is emptied: drawing in
// that time is part of the same update.
const DamageQuiet = time.Millisecond

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
	id, err := c.createDamage()
	if !stop() {
		return nil, fmt.Errorf("display %s: no answer to the DAMAGE extension's setup: %w", c.display, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("display %s: %w", c.display, err)
	}
	return &Damage{c: c, damage: id}, nil
}

func (c *Conn) createDamage() (damage.Damage, error) {
	if err := damage.Init(c.x); err != nil {
		return 0, fmt.Errorf("no DAMAGE extension: %w", err)
	}
	// The version must be asked before any other request of the extension.
	if _, err := damage.QueryVersion(c.x, 1, 1).Reply(); err != nil {
		return 0, fmt.Errorf("DAMAGE QueryVersion: %w", err)
	}
	id, err := damage.NewDamageId(c.x)
	if err != nil {
		return 0, err
	}
	if err := damage.CreateChecked(c.x, id, c.root, damage.ReportLevelNonEmpty).Check(); err != nil {
		return 0, fmt.Errorf("DAMAGE Create on the root window: %w", err)
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
	damage.Subtract(c.x, id, 0, 0)
	return id, nil
}

// ErrClosed is Next's error once the connection has ended (Close, or the X
// server gone).
var ErrClosed = errors.New("xscreen: the connection to the X server has ended")

// Next waits for the next drawing on the screen and returns the bounding box
// of what was damaged when the event was sent. It blocks until there is one:
// Close (from another goroutine) ends the wait with ErrClosed. Only one
// goroutine may call Next.
func (dm *Damage) Next() (xproto.Rectangle, error) {
	if !dm.taken.IsZero() {
		// Empty the damage: the next drawing sends the next event.
		time.Sleep(time.Until(dm.taken.Add(DamageQuiet)))
		damage.Subtract(dm.c.x, dm.damage, 0, 0)
		dm.taken = time.Time{}
	}
	for {
		ev, err := dm.c.x.WaitForEvent()
		if ev == nil && err == nil {
			return xproto.Rectangle{}, ErrClosed
		}
		if err != nil {
			// An X error of an unchecked request; nothing this loop sent can
			// fail but the Subtract of a damage the server forgot.
			return xproto.Rectangle{}, fmt.Errorf("display %s: %w", dm.c.display, err)
		}
		n, ok := ev.(damage.NotifyEvent)
		if !ok || n.Damage != dm.damage {
			continue
		}
		dm.taken = time.Now()
		return n.Area, nil
	}
}

// Verify asks the server, without waiting, about the damage object: when it
// is gone (any client may destroy it by its id) the server reports no drawing
// at all, and Verify makes the Next in progress return an error instead. Safe
// from any goroutine; it empties the damage, which costs at most one more
// event, never a drawing unseen.
func (dm *Damage) Verify() {
	damage.Subtract(dm.c.x, dm.damage, 0, 0)
}

// Format is screen 0's size and pixel layout.
func (dm *Damage) Format() Format { return dm.c.format }

// Close ends the watch and the connection at once, without waiting for the
// server; a Next in progress returns ErrClosed.
func (dm *Damage) Close() {
	dm.c.nc.Close()
	dm.c.x.Close()
}
