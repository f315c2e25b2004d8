package watchdog

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"go.uber.org/zap"

	"github.com/xinit-go/xinit-go/session"
)

// Options configure a Watchdog.
type Options struct {
	Display session.Display
	// Timeout: a picture unchanged or black this long is frozen.
	Timeout time.Duration
	// Interval between samples; zero means Timeout/5, from 200ms to 2s.
	Interval time.Duration
	// AppStarted is when the app's current run started; ok false while it does
	// not run (nothing is judged then).
	AppStarted func() (t time.Time, ok bool)
	// OnFrozen is called, on the watchdog's goroutine, once per freeze.
	OnFrozen func(ctx context.Context, f Frozen)
	Log      *zap.Logger
}

// Frozen describes a freeze.
type Frozen struct {
	Black     bool          // the whole screen was black
	Unchanged time.Duration // since the last change (or the app's start)
}

func (f Frozen) String() string {
	if f.Black {
		return fmt.Sprintf("the screen has been entirely black for %s", f.Unchanged.Round(100*time.Millisecond))
	}
	return fmt.Sprintf("the screen has not changed for %s", f.Unchanged.Round(100*time.Millisecond))
}

// Status is what /status and /metrics show.
type Status struct {
	Sampling   bool          // a sample has been taken
	LastChange time.Time     // the last change of the picture
	Unchanged  time.Duration // since then, or since the app's start
	Black      bool          // the last sample was entirely black
	Frozen     bool          // a freeze was reported and the picture has not changed since
	Samples    int64
	Error      string // the last sampling error, "" when the last sample worked
}

// Watchdog samples a display. Make one with New, call Run once.
type Watchdog struct {
	o    Options
	log  *zap.Logger
	seed maphash.Seed

	mu sync.Mutex
	st state
}

// state is the decision's memory; observe is the only place it changes.
type state struct {
	sampled    bool
	hash       uint64
	black      bool
	lastChange time.Time
	blackSince time.Time
	fired      bool
	appStart   time.Time // the app's run the last samples belong to
	samples    int64
	err        string
	unchanged  time.Duration
}

// New makes a Watchdog.
func New(o Options) *Watchdog {
	if o.Interval <= 0 {
		o.Interval = min(max(o.Timeout/5, 200*time.Millisecond), 2*time.Second)
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return &Watchdog{o: o, log: o.Log.Named("watchdog"), seed: maphash.MakeSeed()}
}

// Interval is the time between samples.
func (w *Watchdog) Interval() time.Duration { return w.o.Interval }

// Status is a snapshot, safe from any goroutine.
func (w *Watchdog) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.st
	return Status{Sampling: s.sampled, LastChange: s.lastChange, Unchanged: s.unchanged, Black: s.black,
		Frozen: s.fired, Samples: s.samples, Error: s.err}
}

// observe takes one sample at now and decides: fire is true when the picture
// has just been frozen (or black) for the timeout. appStart is the start of the
// app's current run; frames before it do not count.
func observe(s *state, now time.Time, hash uint64, black bool, appStart time.Time, timeout time.Duration) (fire bool, f Frozen) {
	s.samples++
	s.err = ""
	changed := !s.sampled || hash != s.hash
	if changed {
		s.lastChange = now
		s.fired = false
	}
	if !appStart.Equal(s.appStart) {
		// A new run of the app (a restart) is judged afresh, even on the same picture.
		s.appStart = appStart
		s.fired = false
	}
	if black && !s.black {
		s.blackSince = now
	}
	if !black {
		s.blackSince = time.Time{}
	}
	s.sampled, s.hash, s.black = true, hash, black
	from := s.lastChange
	if black && !s.blackSince.IsZero() && s.blackSince.Before(from) {
		from = s.blackSince
	}
	if appStart.After(from) {
		from = appStart
	}
	s.unchanged = now.Sub(from)
	if s.fired || s.unchanged < timeout {
		return false, Frozen{}
	}
	s.fired = true
	return true, Frozen{Black: black, Unchanged: s.unchanged}
}

// Run samples until ctx ends.
func (w *Watchdog) Run(ctx context.Context) {
	w.log.Info("watching the screen", zap.Duration("timeout", w.o.Timeout), zap.Duration("interval", w.o.Interval))
	t := time.NewTicker(w.o.Interval)
	defer t.Stop()
	var c *xgb.Conn
	var closeConn func()
	defer func() {
		if c != nil {
			closeConn()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start, running := w.o.AppStarted()
		if !running {
			continue
		}
		if c == nil {
			// The connection lives until Run ends or a sample fails; the
			// connection setup itself gets one interval.
			connCtx, cancelConn := context.WithCancel(ctx)
			setup := time.AfterFunc(w.o.Interval, cancelConn)
			conn, release, err := session.Connect(connCtx, w.o.Display)
			setup.Stop()
			if err != nil {
				cancelConn()
				w.fail(err)
				continue
			}
			c, closeConn = conn, func() { release(); cancelConn() }
		}
		hash, black, err := w.sample(c)
		if err != nil {
			// The X server may have restarted: connect again next time.
			closeConn()
			c = nil
			w.fail(err)
			continue
		}
		w.mu.Lock()
		fire, f := observe(&w.st, time.Now(), hash, black, start, w.o.Timeout)
		w.mu.Unlock()
		if fire {
			w.log.Warn("frozen screen: "+f.String(), zap.Bool("black", f.Black), zap.Duration("unchanged", f.Unchanged))
			if w.o.OnFrozen != nil {
				w.o.OnFrozen(ctx, f)
			}
		}
	}
}

func (w *Watchdog) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.st.err == "" {
		w.log.Debug("cannot sample the screen", zap.Error(err))
	}
	w.st.err = err.Error()
}

// sample reads screen 0 and returns the hash of its pixels and whether every
// pixel is black (each channel at most 8 of 255).
func (w *Watchdog) sample(c *xgb.Conn) (uint64, bool, error) {
	setup := xproto.Setup(c)
	s := setup.DefaultScreen(c)
	width, height := int(s.WidthInPixels), int(s.HeightInPixels)
	bpp := 0
	for _, f := range setup.PixmapFormats {
		if f.Depth == s.RootDepth {
			bpp = int(f.BitsPerPixel)
		}
	}
	if bpp != 32 && bpp != 16 {
		return 0, false, fmt.Errorf("screen depth %d at %d bits per pixel is not supported", s.RootDepth, bpp)
	}
	var h maphash.Hash
	h.SetSeed(w.seed)
	black := true
	rows := max(1, (4<<20)/(width*bpp/8))
	for y := 0; y < height; y += rows {
		n := min(rows, height-y)
		rep, err := xproto.GetImage(c, xproto.ImageFormatZPixmap, xproto.Drawable(s.Root),
			0, int16(y), uint16(width), uint16(n), 0xffffffff).Reply()
		if err != nil {
			return 0, false, fmt.Errorf("GetImage: %w", err)
		}
		h.Write(rep.Data)
		if black {
			black = isBlack(rep.Data, bpp, s.RootDepth)
		}
	}
	return h.Sum64(), black, nil
}

// isBlack reports whether every pixel of a ZPixmap is black or nearly so.
func isBlack(data []byte, bpp int, depth byte) bool {
	switch {
	case bpp == 32 && depth == 30:
		for i := 0; i+3 < len(data); i += 4 {
			v := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
			if v>>22&0xff > 8 || v>>12&0xff > 8 || v>>2&0xff > 8 {
				return false
			}
		}
	case bpp == 32:
		for i := 0; i+3 < len(data); i += 4 {
			if data[i] > 8 || data[i+1] > 8 || data[i+2] > 8 {
				return false
			}
		}
	default:
		for i := 0; i+1 < len(data); i += 2 {
			v := uint16(data[i]) | uint16(data[i+1])<<8
			if v>>11 > 1 || v>>5&0x3f > 2 || v&0x1f > 1 {
				return false
			}
		}
	}
	return true
}
