package stream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// EncoderOptions configure the encoder.
type EncoderOptions struct {
	Display       string // ":N"
	Width, Height int
	FPS           int
	// Env is ffmpeg's whole environment (PATH, XAUTHORITY, HOME); DISPLAY is set.
	Env []string
	// Credential runs ffmpeg as the app user; nil for xinit-go's own.
	Credential *syscall.Credential
	// CanStart says whether ffmpeg may start now: nil once the X server is
	// ready and while the session is not stopping (the supervisor, which reaps
	// ffmpeg, runs then).
	CanStart func() error
	Hub      *Hub
	Metrics  *Metrics
	Log      *zap.Logger
	// Grace is how long ffmpeg has after SIGTERM before SIGKILL; 0 means 1s.
	Grace time.Duration

	started func(pid int) // tests: they reap ffmpeg themselves
}

// Encoder runs ffmpeg while the hub has viewers and publishes its pictures.
//
// ffmpeg is started outside the supervisor's services, on this goroutine, and
// never on the supervisor's loop: it starts and stops with the viewers, not
// with the session. It is reaped by the supervisor all the same: it is
// xinit-go's child, so its exit reaches the supervisor's single wait4(-1) loop,
// which reaps it as a process it does not know (an orphan, counted as such).
// Nothing here waits for it; a pidfd (never reused, unlike a pid) tells
// whether it has exited, so the process group is signalled only while its
// leader lives and cannot be a stranger's. It runs in a process group of its
// own, gets SIGKILL if xinit-go's thread that started it dies
// (PR_SET_PDEATHSIG), is stopped (SIGTERM, the grace, SIGKILL to the group)
// when the last viewer leaves and when Run's context ends, and is never
// started while the session stops; the supervisor's last sweep kills whatever
// is left before xinit-go exits.
type Encoder struct {
	o    EncoderOptions
	log  *zap.Logger
	path string

	kick chan struct{}
	mu   sync.Mutex
	want bool
}

// NewEncoder checks that ffmpeg is installed; nothing is started.
func NewEncoder(o EncoderOptions) (*Encoder, error) {
	if o.FPS <= 0 {
		o.FPS = 60
	}
	if o.Grace <= 0 {
		o.Grace = time.Second
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	path, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, fmt.Errorf("the smooth view needs ffmpeg: %w", err)
	}
	return &Encoder{o: o, log: o.Log.Named("view"), path: path, kick: make(chan struct{}, 1)}, nil
}

// Want turns the encoder on (a viewer watches) or off (none does); Run acts on it.
func (e *Encoder) Want(on bool) {
	e.mu.Lock()
	e.want = on
	e.mu.Unlock()
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

func (e *Encoder) wanted() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.want
}

// Argv is ffmpeg's command line: the screen at FPS through MIT-SHM, H.264 that
// every WebCodecs decoder takes (constrained baseline, 4:2:0, no B-frames), a
// keyframe every second with the parameter sets before it, an access unit
// delimiter before every picture (the splitter cuts there), each picture
// written at once; progress reports on fd 4.
func (e *Encoder) Argv() []string {
	o := e.o
	fps := strconv.Itoa(o.FPS)
	return []string{"ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning",
		"-fflags", "nobuffer", "-probesize", "32", "-analyzeduration", "0",
		"-f", "x11grab", "-draw_mouse", "0", "-framerate", fps,
		"-video_size", fmt.Sprintf("%dx%d", o.Width, o.Height), "-i", o.Display + ".0+0,0",
		"-vf", "crop=trunc(iw/2)*2:trunc(ih/2)*2",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-bf", "0",
		"-profile:v", "baseline", "-pix_fmt", "yuv420p",
		"-g", fps, "-keyint_min", fps, "-x264-params", "aud=1:repeat-headers=1",
		"-progress", "pipe:4", "-stats_period", "1",
		"-f", "h264", "-flush_packets", "1", "pipe:3"}
}

// Run starts ffmpeg whenever the encoder is wanted and stops it when it is
// not, until ctx ends; a failed or ended ffmpeg that is still wanted starts
// again after a backoff (1 s, doubling to 10 s).
func (e *Encoder) Run(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		if !e.wanted() {
			select {
			case <-ctx.Done():
				return
			case <-e.kick:
			}
			continue
		}
		if err := e.o.CanStart(); err != nil {
			e.log.Debug("the encoder waits", zap.String("why", err.Error()))
			e.pause(ctx, 250*time.Millisecond)
			continue
		}
		started := time.Now()
		err := e.runOnce(ctx)
		e.o.Hub.Reset()
		if ctx.Err() != nil || !e.wanted() || e.o.CanStart() != nil {
			backoff = time.Second
			continue
		}
		if time.Since(started) > 30*time.Second {
			backoff = time.Second
		}
		e.log.Warn("the smooth view's encoder ended; starting it again", zap.Error(err), zap.Duration("backoff", backoff))
		e.pause(ctx, backoff)
		backoff = min(2*backoff, 10*time.Second)
	}
}

// pause waits d, or less when the wish changes or ctx ends.
func (e *Encoder) pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-e.kick:
		// Leave the kick for the loop to see again.
		select {
		case e.kick <- struct{}{}:
		default:
		}
	}
}

// proc is one run of ffmpeg.
type proc struct {
	pid, pidfd int
	out        *os.File // the H.264 stream
	errs, prog *os.File // stderr, progress
}

func (e *Encoder) start() (*proc, error) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	var r, w [3]*os.File
	for i := range r {
		if r[i], w[i], err = os.Pipe(); err != nil {
			for j := range i {
				r[j].Close()
				w[j].Close()
			}
			return nil, err
		}
	}
	defer func() {
		for _, f := range w {
			f.Close()
		}
	}()
	env := append(append([]string(nil), e.o.Env...), "DISPLAY="+e.o.Display)
	pidfd := -1
	fds := []uintptr{devnull.Fd(), w[1].Fd(), w[1].Fd(), w[0].Fd(), w[2].Fd()}
	pid, err := syscall.ForkExec(e.path, e.Argv(), &syscall.ProcAttr{
		Env:   env,
		Files: fds,
		Sys: &syscall.SysProcAttr{
			Setpgid:    true,
			Credential: e.o.Credential,
			Pdeathsig:  syscall.SIGKILL,
			PidFD:      &pidfd,
		},
	})
	if err != nil {
		for _, f := range r {
			f.Close()
		}
		return nil, fmt.Errorf("start ffmpeg: %w", err)
	}
	return &proc{pid: pid, pidfd: pidfd, out: r[0], errs: r[1], prog: r[2]}, nil
}

// exited waits up to d for the process to exit (not to be reaped: the
// supervisor does that); it reports whether it has.
func (p *proc) exited(d time.Duration) bool {
	fds := []unix.PollFd{{Fd: int32(p.pidfd), Events: unix.POLLIN}}
	deadline := time.Now().Add(d)
	for {
		n, err := unix.Poll(fds, int(max(0, time.Until(deadline).Milliseconds())))
		if err == unix.EINTR {
			continue
		}
		return n > 0 || err != nil
	}
}

// signal sends sig to the group while its leader has not exited: a pid that
// was reaped may belong to another process by now.
func (p *proc) signal(sig syscall.Signal) {
	if !p.exited(0) {
		_ = unix.PidfdSendSignal(p.pidfd, sig, nil, 0)
		_ = syscall.Kill(-p.pid, sig)
	}
}

// runOnce runs ffmpeg until it ends, the last viewer leaves or ctx ends.
func (e *Encoder) runOnce(ctx context.Context) error {
	p, err := e.start()
	if err != nil {
		return err
	}
	defer unix.Close(p.pidfd)
	e.o.Metrics.starts.Inc()
	if e.o.started != nil {
		e.o.started(p.pid)
	}
	log := e.log.With(zap.Int("pid", p.pid))
	log.Info("smooth view encoder started", zap.Int("fps", e.o.FPS), zap.String("size", fmt.Sprintf("%dx%d", e.o.Width, e.o.Height)))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(p.errs)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				log.Info("ffmpeg: " + line)
			}
		}
	}()
	go func() {
		defer wg.Done()
		e.progress(p.prog)
	}()
	readErr := make(chan error, 1)
	go func() { readErr <- e.read(p.out) }()

	var cpu cpuMeter
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	check := time.NewTicker(250 * time.Millisecond)
	defer check.Stop()
	var end error
	readDone := false
loop:
	for {
		select {
		case end = <-readErr:
			readDone = true
			break loop
		case <-ctx.Done():
			end = ctx.Err()
			break loop
		case <-e.kick:
			if !e.wanted() {
				end = errors.New("no viewer left")
				break loop
			}
		case <-tick.C:
			e.o.Metrics.cpu.Add(cpu.delta(p))
		case <-check.C:
			// The session stops, or its X server restarts: ffmpeg goes first.
			if err := e.o.CanStart(); err != nil {
				end = err
				break loop
			}
		}
	}
	e.o.Metrics.cpu.Add(cpu.delta(p))
	p.signal(syscall.SIGTERM)
	if !p.exited(e.o.Grace) {
		log.Warn("ffmpeg ignored SIGTERM; killing its process group", zap.Duration("grace", e.o.Grace))
		p.signal(syscall.SIGKILL)
		if !p.exited(e.o.Grace) {
			log.Error("ffmpeg does not die after SIGKILL; going on without it")
		}
	}
	// The write ends were ffmpeg's alone: its exit ends the readers.
	p.out.Close()
	if !readDone {
		select {
		case <-readErr:
		case <-time.After(e.o.Grace):
		}
	}
	p.errs.SetReadDeadline(time.Now().Add(e.o.Grace))
	p.prog.SetReadDeadline(time.Now().Add(e.o.Grace))
	wg.Wait()
	p.errs.Close()
	p.prog.Close()
	log.Info("smooth view encoder stopped", zap.String("why", fmt.Sprint(end)))
	return end
}

// read cuts ffmpeg's output into pictures and publishes them.
func (e *Encoder) read(r io.Reader) error {
	s := Splitter{MaxAU: 32 << 20}
	buf := make([]byte, 256<<10)
	m := e.o.Metrics
	for {
		n, err := r.Read(buf)
		if n > 0 {
			aus, serr := s.Write(buf[:n])
			now := time.Now()
			for _, au := range aus {
				m.frames.WithLabelValues("encoded").Inc()
				m.bytes.WithLabelValues("encoded").Add(float64(len(au.Data)))
				e.o.Hub.Publish(au, now)
			}
			if serr != nil {
				return serr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("ffmpeg closed its output")
			}
			return err
		}
	}
}

// progress reads ffmpeg's -progress reports: the pictures x11grab captured
// are those encoded, plus those dropped, less the duplicates.
func (e *Encoder) progress(r io.Reader) {
	sc := bufio.NewScanner(r)
	var last, frame, drop, dup int64
	c := e.o.Metrics.frames.WithLabelValues("captured")
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "frame":
			frame = n
		case "drop_frames":
			drop = n
		case "dup_frames":
			dup = n
		case "progress":
			if now := frame + drop - dup; now > last {
				c.Add(float64(now - last))
				last = now
			}
		}
	}
}

// cpuMeter turns a process's CPU time into deltas.
type cpuMeter struct{ last float64 }

func (c *cpuMeter) delta(p *proc) float64 {
	if p.exited(0) {
		return 0 // its pid may be another's now
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	now := (ut + st) / 100 // USER_HZ is 100 on Linux
	d := now - c.last
	if d < 0 {
		d = 0
	}
	c.last = now
	return d
}
