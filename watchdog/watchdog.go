package watchdog

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/xinit-go/xinit-go/xscreen"
)

// Options configure a Watchdog.
type Options struct {
	Display xscreen.Display
	// Timeout: a picture unchanged or black this long is frozen.
	Timeout time.Duration
	// Interval is the mean time between samples; zero means Timeout/5, from
	// 200ms to 2s. Each wait is drawn from 1/2 to 3/2 of it, so a picture that
	// changes on a clock cannot show the same frame to every sample.
	Interval time.Duration
	// SampleTimeout bounds one sample, connecting included; zero means the
	// Interval, at least 1s. A sample the X server does not answer in time
	// counts as an unchanged picture: a hung X server is a frozen screen.
	SampleTimeout time.Duration
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
	Stalled   bool          // the X server did not answer the last sample
	Unchanged time.Duration // since the last change (or the app's start)
}

func (f Frozen) String() string {
	if f.Stalled {
		return fmt.Sprintf("the X server has not answered and the screen has not changed for %s", f.Unchanged.Round(100*time.Millisecond))
	}
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
	Stalled    bool          // the X server did not answer the last sample in time
	Samples    int64
	Error      string // the last sampling error, "" when the last sample worked
}

// Watchdog samples a display. Make one with New, call Run once.
type Watchdog struct {
	o    Options
	log  *zap.Logger
	seed maphash.Seed
	rand *rand.Rand // the waits' jitter; only Run's goroutine uses it

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
	stalled    bool
	unchanged  time.Duration
}

// frame is what one sample saw: the pixels' hash and whether all were black,
// or stalled when the X server did not answer in time (hash and black are then
// those of the last sample: the picture is taken as unchanged).
type frame struct {
	hash    uint64
	black   bool
	stalled bool
}

// New makes a Watchdog.
func New(o Options) *Watchdog {
	if o.Interval <= 0 {
		o.Interval = min(max(o.Timeout/5, 200*time.Millisecond), 2*time.Second)
	}
	if o.SampleTimeout <= 0 {
		o.SampleTimeout = max(o.Interval, time.Second)
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return &Watchdog{o: o, log: o.Log.Named("watchdog"), seed: maphash.MakeSeed(),
		rand: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// next is the wait before the next sample.
func (w *Watchdog) next() time.Duration { return jitter(w.o.Interval, w.rand.Float64()) }

// jitter is the wait before the next sample: the interval scaled by u+0.5 for
// u in [0, 1). A picture that cycles through its frames within an interval is
// then seen at a random phase by each sample.
func jitter(interval time.Duration, u float64) time.Duration {
	return time.Duration(float64(interval) * (0.5 + u))
}

// Interval is the time between samples.
func (w *Watchdog) Interval() time.Duration { return w.o.Interval }

// Status is a snapshot, safe from any goroutine.
func (w *Watchdog) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.st
	return Status{Sampling: s.sampled, LastChange: s.lastChange, Unchanged: s.unchanged, Black: s.black,
		Frozen: s.fired, Stalled: s.stalled, Samples: s.samples, Error: s.err}
}

// observe takes one sample at now and decides: fire is true when the picture
// has just been frozen (or black) for the timeout. appStart is the start of the
// app's current run; frames before it do not count. A stalled sample changes
// nothing of the picture: the time since its last change goes on counting.
func observe(s *state, now time.Time, fr frame, appStart time.Time, timeout time.Duration) (fire bool, f Frozen) {
	s.samples++
	s.stalled = fr.stalled
	if fr.stalled {
		fr.hash, fr.black = s.hash, s.black
	} else {
		s.err = ""
	}
	changed := !fr.stalled && (!s.sampled || fr.hash != s.hash)
	if changed {
		s.lastChange = now
		s.fired = false
	}
	if !appStart.Equal(s.appStart) {
		// A new run of the app (a restart) is judged afresh, even on the same picture.
		s.appStart = appStart
		s.fired = false
	}
	if fr.black && !s.black {
		s.blackSince = now
	}
	if !fr.black {
		s.blackSince = time.Time{}
	}
	s.hash, s.black = fr.hash, fr.black
	s.sampled = s.sampled || !fr.stalled
	from := s.lastChange
	if fr.black && !s.blackSince.IsZero() && s.blackSince.Before(from) {
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
	return true, Frozen{Black: fr.black, Stalled: fr.stalled, Unchanged: s.unchanged}
}

// confirmations is how many more samples a picture gets before it is called
// frozen.
const confirmations = 3

// confirm looks again before a freeze is called: when the sample fr at now
// would make a picture that answered, and is not black, frozen, resample is
// asked up to confirmations times (each waits a random part of an interval and
// samples). The first sample that differs is returned in fr's place: a picture
// that changes on a clock, and so may have shown the same frame to every
// sample, is then seen changing. s is not changed.
func confirm(s *state, now time.Time, fr frame, start time.Time, timeout time.Duration,
	resample func() (frame, time.Time, bool)) (time.Time, frame) {
	probe := *s
	if fire, _ := observe(&probe, now, fr, start, timeout); !fire || fr.stalled || fr.black {
		return now, fr
	}
	for range confirmations {
		again, at, ok := resample()
		if !ok || again.stalled {
			break
		}
		if again.hash != fr.hash || again.black != fr.black {
			return at, again
		}
	}
	return now, fr
}

// Run samples until ctx ends.
func (w *Watchdog) Run(ctx context.Context) {
	w.log.Info("watching the screen", zap.Duration("timeout", w.o.Timeout), zap.Duration("interval", w.o.Interval),
		zap.Duration("sample_timeout", w.o.SampleTimeout))
	t := time.NewTimer(w.next())
	defer t.Stop()
	var c *xscreen.Conn
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(w.next())
		start, running := w.o.AppStarted()
		if !running {
			continue
		}
		fr, err := w.sample(ctx, &c)
		if err != nil && !fr.stalled {
			w.fail(err)
			continue
		}
		now := time.Now()
		w.mu.Lock()
		probe := w.st
		w.mu.Unlock()
		resample := func() (frame, time.Time, bool) {
			wait := time.NewTimer(time.Duration(w.rand.Float64() * float64(w.o.Interval) / confirmations))
			defer wait.Stop()
			select {
			case <-ctx.Done():
				return frame{}, time.Time{}, false
			case <-wait.C:
			}
			fr, err := w.sample(ctx, &c)
			return fr, time.Now(), err == nil
		}
		// The state is only Run's to change: the copy taken above is current.
		now, fr = confirm(&probe, now, fr, start, w.o.Timeout, resample)
		w.mu.Lock()
		fire, f := observe(&w.st, now, fr, start, w.o.Timeout)
		if err != nil {
			w.st.err = err.Error()
		}
		w.mu.Unlock()
		if fr.stalled && ctx.Err() == nil {
			w.log.Debug("the X server did not answer a sample", zap.Error(err))
		}
		if fire {
			w.log.Warn("frozen screen: "+f.String(), zap.Bool("black", f.Black), zap.Bool("stalled", f.Stalled),
				zap.Duration("unchanged", f.Unchanged))
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

// sample reads screen 0 through *c, connecting first when *c is nil; the
// connection lives until Run ends or a sample fails (the X server may have
// restarted: the next sample connects again). The connection and the read each
// get SampleTimeout; one that passes it is a stalled frame, with its error.
func (w *Watchdog) sample(ctx context.Context, c **xscreen.Conn) (frame, error) {
	if *c == nil {
		conn, err := xscreen.Dial(ctx, w.o.Display, w.o.SampleTimeout)
		if err != nil {
			return frame{stalled: xscreen.Stalled(err) && ctx.Err() == nil}, err
		}
		*c = conn
	}
	f := (*c).Format()
	var h maphash.Hash
	h.SetSeed(w.seed)
	black := true
	err := (*c).Read(ctx, func(_ int, data []byte) {
		h.Write(data)
		if black {
			black = f.Black(data)
		}
	})
	if err != nil {
		(*c).Close()
		*c = nil
		return frame{stalled: xscreen.Stalled(err) && ctx.Err() == nil}, err
	}
	return frame{hash: h.Sum64(), black: black}, nil
}
