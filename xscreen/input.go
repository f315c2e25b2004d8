package xscreen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"
)

// Input injects pointer and keyboard events into screen 0 of a display through
// the XTEST extension, for the smooth view. Each call waits for the server to
// have taken the event, under a deadline: past it the connection is closed (so
// a stalled X server holds the caller no longer than that) and the next call
// connects anew. Keysyms the keymap lacks are bound to a spare keycode (one
// without symbols) with ChangeKeyboardMapping while needed; Close unbinds them.
// Safe for use by several goroutines.
type Input struct {
	d       Display
	timeout time.Duration

	mu      sync.Mutex
	c       *xgb.Conn
	cancel  context.CancelFunc
	root    xproto.Window
	w, h    int
	min     xproto.Keycode
	per     int             // keysyms per keycode
	syms    []xproto.Keysym // the keymap, per keycode from min
	spare   []xproto.Keycode
	bound   map[xproto.Keysym]xproto.Keycode // keysyms bound to spare keycodes
	order   []xproto.Keysym                  // bound keysyms, oldest first
	pressed map[uint32]xproto.Keycode        // keysym -> keycode pressed for it
}

// NewInput prepares injection into display; it connects on the first event.
// timeout bounds every request; 0 means 500ms.
func NewInput(d Display, timeout time.Duration) *Input {
	if timeout <= 0 {
		timeout = 500 * time.Millisecond
	}
	return &Input{d: d, timeout: timeout, bound: map[xproto.Keysym]xproto.Keycode{}, pressed: map[uint32]xproto.Keycode{}}
}

// ErrNoXTEST is returned when the X server lacks the XTEST extension.
var ErrNoXTEST = errors.New("the X server has no XTEST extension: the smooth view cannot inject input")

// do runs f on a connection under the deadline; on any failure the connection
// is dropped. in.mu is held.
func (in *Input) do(f func(c *xgb.Conn) error) error {
	if in.c == nil {
		if err := in.connect(); err != nil {
			return err
		}
	}
	t := time.AfterFunc(in.timeout, in.cancel)
	err := f(in.c)
	if !t.Stop() && err == nil {
		err = fmt.Errorf("display %s did not answer within %s", in.d, in.timeout)
	}
	if err != nil {
		in.drop()
	}
	return err
}

func (in *Input) drop() {
	if in.cancel != nil {
		in.cancel()
	}
	in.c, in.cancel = nil, nil
	// Bindings and pressed keys belong to the server: they are kept, and a new
	// connection reads the keymap again.
}

// connect dials and reads the screen and keymap; in.mu is held.
func (in *Input) connect() error {
	ctx, cancel := context.WithCancel(context.Background())
	t := time.AfterFunc(in.timeout, cancel)
	defer t.Stop()
	c, release, err := dialX(ctx, in.d)
	if err != nil {
		cancel()
		return err
	}
	stop := func() { cancel(); release() }
	if err := enableExtensions(c); err != nil {
		stop()
		if ctx.Err() != nil {
			return fmt.Errorf("display %s did not answer within %s", in.d, in.timeout)
		}
		return err
	}
	if !hasExtension(c, "XTEST") {
		stop()
		return ErrNoXTEST
	}
	setup := xproto.Setup(c)
	s := setup.DefaultScreen(c)
	count := int(setup.MaxKeycode) - int(setup.MinKeycode) + 1
	km, err := xproto.GetKeyboardMapping(c, setup.MinKeycode, byte(count)).Reply()
	if err != nil {
		stop()
		return fmt.Errorf("display %s: read the keymap: %w", in.d, err)
	}
	in.c, in.cancel = c, stop
	in.root, in.w, in.h = s.Root, int(s.WidthInPixels), int(s.HeightInPixels)
	in.min, in.per, in.syms = setup.MinKeycode, int(km.KeysymsPerKeycode), km.Keysyms
	in.spare = in.spare[:0]
	for i := count - 1; i >= 0; i-- {
		if in.per > 0 && in.empty(i) {
			in.spare = append(in.spare, in.min+xproto.Keycode(i))
		}
	}
	return nil
}

func (in *Input) empty(i int) bool {
	for _, s := range in.syms[i*in.per : (i+1)*in.per] {
		if s != 0 {
			return false
		}
	}
	return true
}

// Size is screen 0's size, connecting when needed.
func (in *Input) Size() (w, h int, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.c == nil {
		if err := in.connect(); err != nil {
			return 0, 0, err
		}
	}
	return in.w, in.h, nil
}

// Move puts the pointer at (fx, fy), fractions of the screen's width and height.
func (in *Input) Move(fx, fy float64) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.do(func(c *xgb.Conn) error {
		x, y := scale(fx, in.w), scale(fy, in.h)
		return xtest.FakeInputChecked(c, xproto.MotionNotify, 0, 0, in.root, int16(x), int16(y), 0).Check()
	})
}

func scale(f float64, n int) int {
	if f != f || f < 0 { // NaN too
		f = 0
	}
	return min(n-1, int(f*float64(n)))
}

// Button presses or releases pointer button b: 1 left, 2 middle, 3 right, 4
// and 5 the wheel up and down, 6 and 7 left and right.
func (in *Input) Button(b int, down bool) error {
	if b < 1 || b > 7 {
		return fmt.Errorf("no pointer button %d", b)
	}
	typ := byte(xproto.ButtonRelease)
	if down {
		typ = xproto.ButtonPress
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.do(func(c *xgb.Conn) error {
		return xtest.FakeInputChecked(c, typ, byte(b), 0, in.root, 0, 0, 0).Check()
	})
}

// Key presses or releases the key of an X keysym. A release goes to the
// keycode its press used.
func (in *Input) Key(sym uint32, down bool) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.do(func(c *xgb.Conn) error {
		if !down {
			kc, ok := in.pressed[sym]
			if !ok {
				return nil // never pressed here: nothing to release
			}
			delete(in.pressed, sym)
			return xtest.FakeInputChecked(c, xproto.KeyRelease, byte(kc), 0, in.root, 0, 0, 0).Check()
		}
		kc, err := in.keycode(c, xproto.Keysym(sym))
		if err != nil {
			return err
		}
		in.pressed[sym] = kc
		return xtest.FakeInputChecked(c, xproto.KeyPress, byte(kc), 0, in.root, 0, 0, 0).Check()
	})
}

// keycode finds sym's keycode: unshifted first, then any column, then a spare
// keycode bound to it (the oldest binding not held down is reused when none
// is free).
func (in *Input) keycode(c *xgb.Conn, sym xproto.Keysym) (xproto.Keycode, error) {
	if sym == 0 {
		return 0, errors.New("keysym 0 is NoSymbol")
	}
	if kc, ok := in.bound[sym]; ok {
		return kc, nil
	}
	for col := 0; col < in.per; col++ {
		for i := 0; (i+1)*in.per <= len(in.syms); i++ {
			if in.syms[i*in.per+col] == sym {
				return in.min + xproto.Keycode(i), nil
			}
		}
	}
	var kc xproto.Keycode
	switch {
	case len(in.spare) > 0:
		kc = in.spare[len(in.spare)-1]
		in.spare = in.spare[:len(in.spare)-1]
	default:
		for i, old := range in.order {
			k := in.bound[old]
			if !in.held(k) {
				kc = k
				delete(in.bound, old)
				in.order = append(in.order[:i], in.order[i+1:]...)
				break
			}
		}
		if kc == 0 {
			return 0, fmt.Errorf("keysym %#x: no keycode to bind it to", uint32(sym))
		}
	}
	syms := make([]xproto.Keysym, in.per)
	syms[0] = sym
	if in.per > 1 {
		syms[1] = sym
	}
	if err := xproto.ChangeKeyboardMappingChecked(c, 1, kc, byte(in.per), syms).Check(); err != nil {
		in.spare = append(in.spare, kc)
		return 0, fmt.Errorf("bind keysym %#x to keycode %d: %w", uint32(sym), kc, err)
	}
	copy(in.syms[int(kc-in.min)*in.per:], syms)
	in.bound[sym] = kc
	in.order = append(in.order, sym)
	return kc, nil
}

func (in *Input) held(kc xproto.Keycode) bool {
	for _, k := range in.pressed {
		if k == kc {
			return true
		}
	}
	return false
}

// Release lets go of every key still pressed (a viewer left with a key down).
func (in *Input) Release() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for sym, kc := range in.pressed {
		delete(in.pressed, sym)
		_ = in.do(func(c *xgb.Conn) error {
			return xtest.FakeInputChecked(c, xproto.KeyRelease, byte(kc), 0, in.root, 0, 0, 0).Check()
		})
	}
}

// Close releases the keys still pressed, unbinds the spare keycodes and
// disconnects.
func (in *Input) Close() {
	in.Release()
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.bound) > 0 && in.c != nil {
		_ = in.do(func(c *xgb.Conn) error {
			for _, kc := range in.bound {
				if err := xproto.ChangeKeyboardMappingChecked(c, 1, kc, byte(in.per), make([]xproto.Keysym, in.per)).Check(); err != nil {
					return err
				}
			}
			return nil
		})
	}
	in.bound, in.order = map[xproto.Keysym]xproto.Keycode{}, nil
	if in.c != nil {
		in.drop()
	}
}

// dialX connects to a display for a connection that lives until release (or
// ctx's end, which closes its socket): the input's, which serves many requests,
// each under its own deadline.
func dialX(ctx context.Context, d Display) (c *xgb.Conn, release func(), err error) {
	quietXGB.Do(func() { xgb.Logger = log.New(io.Discard, "", 0) })
	var dl net.Dialer
	nc, err := dl.DialContext(ctx, "unix", filepath.Join(SocketDir, fmt.Sprintf("X%d", d.Num)))
	if err != nil {
		return nil, nil, fmt.Errorf("connect to display %s: %w", d, err)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	// The cookie is in hand: xgb would look for one only in $XAUTHORITY.
	c, err = xgb.NewConnNet(&cookieConn{Conn: nc, cookie: d.Cookie})
	if err != nil {
		stop()
		nc.Close()
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("connect to display %s: %w", d, ctx.Err())
		}
		return nil, nil, fmt.Errorf("connect to display %s: %w", d, err)
	}
	return c, func() {
		stop()
		c.Close()
		nc.Close()
	}, nil
}
