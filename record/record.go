package record

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/xinit-go/xinit-go/internal/linksafe"
	"github.com/xinit-go/xinit-go/supervisor"
)

// Name is the recorder's service name.
const Name = "record"

// FinishTimeout bounds Finish: the stitch of the rolling window.
const FinishTimeout = 2 * time.Second

// Encoders.
const (
	X264  = "libx264"
	NVENC = "h264_nvenc"
)

// Options configure a Recorder.
type Options struct {
	Path    string        // the MP4 to write
	FPS     int           // frames per second
	Last    time.Duration // rolling window; 0 keeps everything
	Display string        // ":N"
	Width   int
	Height  int
	// Env is the environment ffmpeg runs with (XAUTHORITY, PATH...); DISPLAY is set.
	Env []string
	// Credential runs ffmpeg as the app user; nil for xinit-go's own.
	Credential *syscall.Credential
	Encoder    string // X264 or NVENC
	After      string // the service the recorder starts after (the X server)
	Restart    supervisor.Restart
	Log        *zap.Logger
	// Output, when set, also gets each line ffmpeg writes.
	Output func(line string)
}

// Recorder is the recording of one session.
type Recorder struct {
	o       Options
	dir     *os.File // the output's directory, opened without following a link
	base    string   // the output's name in dir
	segName string   // rolling window: the segments' directory's name in dir
	segDir  string   // and its path, for ffmpeg
	starts  int
	log     *zap.Logger
}

// New prepares a recording: opens the output's directory without following a
// link that another user could have planted on the way (the app user may own
// it), and for a rolling window creates the segments' directory in it. Nothing
// is started. What the Recorder later renames or removes there, it does
// relative to that opened directory, so a component swapped for a link during
// the run redirects nothing. Close releases the directory.
func New(o Options) (*Recorder, error) {
	if o.FPS <= 0 {
		o.FPS = 15
	}
	if o.Encoder == "" {
		o.Encoder = X264
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	r := &Recorder{o: o, log: o.Log.Named("record")}
	dir, base := filepath.Split(o.Path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return nil, fmt.Errorf("XINIT_RECORD=%q: want a file's path, e.g. /artifacts/run.mp4", o.Path)
	}
	df, err := linksafe.OpenDir(dir, false, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("XINIT_RECORD=%q: the directory %s does not exist; create it (a volume), or record elsewhere", o.Path, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("XINIT_RECORD=%q: %w", o.Path, err)
	}
	r.dir, r.base = df, base
	r.removeOldSegments()
	if o.Last > 0 {
		name, err := linksafe.MkdirTemp(int(df.Fd()), ".xinit-record-")
		if err != nil {
			df.Close()
			return nil, fmt.Errorf("XINIT_RECORD=%q: make the segments' directory: %w", o.Path, err)
		}
		if c := o.Credential; c != nil {
			// The directory is handed over through a descriptor of the one just
			// made: the recording's directory may be the app user's, who could
			// have swapped the name for a link in between.
			if err := chownOwnDir(int(df.Fd()), name, c); err != nil {
				_ = unix.Unlinkat(int(df.Fd()), name, unix.AT_REMOVEDIR)
				df.Close()
				return nil, fmt.Errorf("XINIT_RECORD=%q: hand the segments' directory to the app user: %w", o.Path, err)
			}
		}
		r.segName, r.segDir = name, filepath.Join(dir, name)
	}
	return r, nil
}

// idleSegments is how long a segments' directory must have been left alone
// before a new recorder takes it for a killed run's: a live recorder (another
// container's, on a shared volume) writes into its segment every second.
const idleSegments = time.Minute

// removeOldSegments removes the segments' directories that killed runs left
// beside the output, all but the newest: that one holds the last killed run's
// window, the evidence a restarted container must not lose at once; the others
// would pile up. A directory written to within idleSegments is left alone.
// Links and files of that name are removed without being followed.
func (r *Recorder) removeOldSegments() {
	ents, err := linksafe.ReadDirAt(r.dfd(), ".")
	if err != nil {
		return
	}
	var dirs, others []string
	last := map[string]time.Time{}
	for name, st := range ents {
		switch {
		case !strings.HasPrefix(name, ".xinit-record-"):
		case st.Mode&unix.S_IFMT == unix.S_IFDIR:
			t := time.Unix(st.Mtim.Unix())
			inside, _ := linksafe.ReadDirAt(r.dfd(), name)
			for _, e := range inside {
				if m := time.Unix(e.Mtim.Unix()); m.After(t) {
					t = m
				}
			}
			if time.Since(t) < idleSegments {
				continue
			}
			dirs, last[name] = append(dirs, name), t
		default:
			others = append(others, name)
		}
	}
	sort.Slice(dirs, func(i, j int) bool { return last[dirs[i]].Before(last[dirs[j]]) })
	if len(dirs) > 0 {
		r.log.Info("the newest segments an earlier run left (killed before its stitch) are kept",
			zap.String("path", filepath.Join(filepath.Dir(r.o.Path), dirs[len(dirs)-1])))
		others = append(others, dirs[:len(dirs)-1]...)
	}
	for _, name := range others {
		if err := linksafe.RemoveAllAt(r.dfd(), name); err != nil {
			r.log.Warn("cannot remove an earlier run's segments", zap.String("name", name), zap.Error(err))
			continue
		}
		r.log.Info("removed an earlier run's segments", zap.String("path", filepath.Join(filepath.Dir(r.o.Path), name)))
	}
}

// Close releases the output's directory. Call it after Finish.
func (r *Recorder) Close() { r.dir.Close() }

func (r *Recorder) dfd() int { return int(r.dir.Fd()) }

// SegmentsDir is the rolling window's directory, "" without one.
func (r *Recorder) SegmentsDir() string { return r.segDir }

// Segment is the length of one segment of a rolling window of last.
func Segment(last time.Duration) time.Duration {
	return max(2*time.Second, (last / 6).Round(time.Second))
}

// Segments is how many segments a rolling window of last keeps on disk at most:
// enough to cover it, the one being written, and one more.
func Segments(last time.Duration) int {
	seg := Segment(last)
	return int((last+seg-1)/seg) + 2
}

// Argv is ffmpeg's command line.
func (r *Recorder) Argv() []string {
	o := r.o
	fps := strconv.Itoa(o.FPS)
	argv := []string{"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning", "-y",
		"-f", "x11grab", "-draw_mouse", "0", "-framerate", fps,
		"-video_size", fmt.Sprintf("%dx%d", o.Width, o.Height), "-i", o.Display + ".0+0,0"}
	switch o.Encoder {
	case NVENC:
		argv = append(argv, "-c:v", NVENC, "-preset", "p1", "-tune", "ll")
	default:
		argv = append(argv, "-c:v", X264, "-preset", "ultrafast")
	}
	argv = append(argv, "-pix_fmt", "yuv420p")
	frag := "+frag_keyframe+empty_moov+default_base_moof"
	// A keyframe, so a fragment, every second, and each fragment written out
	// when it is complete (flush_packets): without it ffmpeg keeps 256 KiB in
	// its buffer, minutes of a static screen. A kill loses at most a second.
	if o.Last <= 0 {
		return append(argv, "-g", fps, "-f", "mp4", "-movflags", frag, "-flush_packets", "1", o.Path)
	}
	seg := Segment(o.Last)
	secs := strconv.Itoa(int(seg / time.Second))
	return append(argv, "-g", fps,
		"-force_key_frames", "expr:gte(t,n_forced*"+secs+")",
		"-f", "segment", "-segment_time", secs, "-segment_wrap", strconv.Itoa(Segments(o.Last)),
		"-reset_timestamps", "1", "-segment_format", "mp4",
		"-segment_format_options", "movflags="+frag+":flush_packets=1",
		filepath.Join(r.segDir, "seg%03d.mp4"))
}

// Spec is the recorder as a supervised service: it starts after the X server,
// is ready once ffmpeg has written its first bytes, restarts on failure, and
// stops on SIGINT. Its failure never ends the session.
func (r *Recorder) Spec() supervisor.Spec {
	o := r.o
	rs := o.Restart
	rs.Policy = supervisor.OnFailure
	var after []string
	if o.After != "" {
		after = []string{o.After}
	}
	env := append([]string(nil), o.Env...)
	env = append(env, "DISPLAY="+o.Display)
	return supervisor.Spec{
		Name:         Name,
		Argv:         r.Argv(),
		Env:          env,
		Credential:   o.Credential,
		After:        after,
		Role:         supervisor.Optional,
		Restart:      rs,
		StopSignal:   syscall.SIGINT,
		ReadyTimeout: 20 * time.Second,
		PreStart:     r.preStart,
		Ready:        r.ready,
		Output: func(line string) {
			r.log.Info(line)
			if o.Output != nil {
				o.Output(line)
			}
		},
	}
}

// preStart keeps what an earlier run of ffmpeg in this session wrote: the file
// of the first run moves aside as PATH.1.mp4, and so on (a rename never follows
// a link).
func (r *Recorder) preStart(context.Context) error {
	r.starts++
	if r.starts > 1 && r.o.Last <= 0 {
		prev := strings.TrimSuffix(r.base, filepath.Ext(r.base)) + fmt.Sprintf(".%d.mp4", r.starts-1)
		if err := unix.Renameat(r.dfd(), r.base, r.dfd(), prev); err == nil {
			r.log.Info("the recording so far is kept aside", zap.String("path", filepath.Join(filepath.Dir(r.o.Path), prev)))
		}
	}
	return nil
}

// ready waits for ffmpeg's first bytes: the output's header, or a segment.
func (r *Recorder) ready() (*supervisor.Probe, error) {
	since := time.Now().Add(-time.Second)
	return &supervisor.Probe{Wait: func(ctx context.Context) error {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if r.written(since) {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
	}}, nil
}

func (r *Recorder) written(since time.Time) bool {
	if r.segDir == "" {
		var st unix.Stat_t
		err := unix.Fstatat(r.dfd(), r.base, &st, unix.AT_SYMLINK_NOFOLLOW)
		return err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size > 0 && time.Unix(st.Mtim.Unix()).After(since)
	}
	segs, _ := r.segments()
	return len(segs) > 0
}

type segment struct {
	path string
	mod  time.Time
	size int64
}

// segments lists the rolling window's segments, oldest first.
func (r *Recorder) segments() ([]segment, error) {
	ents, err := linksafe.ReadDirAt(r.dfd(), r.segName)
	if err != nil {
		return nil, err
	}
	// The app's user writes this directory: each segment is opened relative
	// to it, without following a link, and not waiting on a FIFO.
	sfd, err := unix.Openat(r.dfd(), r.segName, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(sfd)
	var out []segment
	for name, st := range ents {
		if st.Mode&unix.S_IFMT != unix.S_IFREG || !strings.HasPrefix(name, "seg") || !strings.HasSuffix(name, ".mp4") {
			continue
		}
		path := filepath.Join(r.segDir, name)
		if !playableAt(sfd, name) {
			continue
		}
		out = append(out, segment{path, time.Unix(st.Mtim.Unix()), st.Size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].mod.Before(out[j].mod) })
	return out, nil
}

// Finish ends the recording once the supervisor has stopped: with keep false
// it removes it; otherwise, for a rolling window, it stitches the newest
// segments into the output, and when the stitch fails or runs out of time it
// keeps the newest segment alone as the output (with an error that says so).
// It returns the video's path, "" when there is none.
// Call it only when no supervisor runs: it starts ffmpeg through os/exec.
func (r *Recorder) Finish(ctx context.Context, keep bool) (string, error) {
	if !keep {
		_ = unix.Unlinkat(r.dfd(), r.base, 0)
		if r.segName != "" {
			_ = linksafe.RemoveAllAt(r.dfd(), r.segName)
		}
		r.log.Info("recording removed: the run passed and XINIT_RECORD_KEEP=failure")
		return "", nil
	}
	if r.segDir == "" {
		var st unix.Stat_t
		if err := unix.Fstatat(r.dfd(), r.base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			return "", fmt.Errorf("no recording at %s", r.o.Path)
		}
		return r.o.Path, nil
	}
	segs, err := r.segments()
	if err != nil || len(segs) == 0 {
		return "", fmt.Errorf("no segment in %s", r.segDir)
	}
	need := int((r.o.Last+Segment(r.o.Last)-1)/Segment(r.o.Last)) + 1
	if len(segs) > need {
		segs = segs[len(segs)-need:]
	}
	var list strings.Builder
	for _, s := range segs {
		fmt.Fprintf(&list, "file '%s'\n", s.path)
	}
	listPath := filepath.Join(r.segDir, "list.txt")
	tmp := filepath.Join(r.segDir, "stitched.mp4")
	sfd, err := unix.Openat(r.dfd(), r.segName, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", r.segDir, err)
	}
	defer unix.Close(sfd)
	if err := writeNew(sfd, r.segDir, "list.txt", []byte(list.String()), r.o.Credential); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, FinishTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
		"-f", "concat", "-safe", "0", "-i", listPath, "-c", "copy",
		"-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", tmp)
	cmd.Env = r.o.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.o.Credential, Setpgid: true}
	cmd.WaitDelay = 100 * time.Millisecond
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		// The stitch failed or ran out of its time (a large window on a slow
		// disk): the newest segment alone is still a playable video of the
		// last seconds, and a rename costs nothing.
		why := fmt.Sprintf("stitch the last %s: %v: %s", r.o.Last, err, strings.TrimSpace(string(out)))
		newest := segs[len(segs)-1]
		if rerr := unix.Renameat(sfd, filepath.Base(newest.path), r.dfd(), r.base); rerr != nil {
			return "", fmt.Errorf("%s; and keeping the newest segment failed: %v (the segments stay in %s)", why, rerr, r.segDir)
		}
		_ = linksafe.RemoveAllAt(r.dfd(), r.segName)
		r.log.Warn("the stitch did not finish; the video is the newest segment alone", zap.String("path", r.o.Path),
			zap.Duration("segment", Segment(r.o.Last)), zap.String("why", why))
		return r.o.Path, fmt.Errorf("%s; the video is the newest segment alone (up to %s)", why, Segment(r.o.Last))
	}
	if err := unix.Renameat(sfd, filepath.Base(tmp), r.dfd(), r.base); err != nil {
		return "", fmt.Errorf("rename %s to %s: %w", tmp, r.o.Path, err)
	}
	_ = linksafe.RemoveAllAt(r.dfd(), r.segName)
	r.log.Info("recording stitched", zap.String("path", r.o.Path), zap.Int("segments", len(segs)),
		zap.Duration("window", r.o.Last), zap.Duration("took", time.Since(start)))
	return r.o.Path, nil
}

// ProbeEncoder picks the encoder: h264_nvenc when a one-frame encode with it
// succeeds here, else libx264. why says which and why. Run it before the
// supervisor starts: it starts ffmpeg through os/exec.
func ProbeEncoder(ctx context.Context, gpu bool) (encoder, why string) {
	if !gpu {
		return X264, "no NVIDIA GPU: libx264"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", "color=c=black:s=256x256:r=1", "-frames:v", "1", "-c:v", NVENC, "-f", "null", "-")
	cmd.WaitDelay = 100 * time.Millisecond
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			msg = "no answer in 5s"
		}
		return X264, "h264_nvenc cannot open an encode session here (" + firstLine(msg, err) + "): libx264"
	}
	return NVENC, "h264_nvenc encoded a test frame: NVENC"
}

// firstLine is ffmpeg's first complaint, without its "[h264_nvenc @ 0x...] " prefix.
func firstLine(msg string, err error) string {
	if msg == "" {
		return err.Error()
	}
	line, _, _ := strings.Cut(msg, "\n")
	if strings.HasPrefix(line, "[") {
		if _, rest, ok := strings.Cut(line, "] "); ok {
			line = rest
		}
	}
	if len(line) > 200 {
		line = line[:200]
	}
	return line
}

// Playable reports whether an MP4 written by the recorder holds at least one
// whole fragment: its header (moov) and a fragment (moof). A segment that was
// being written when ffmpeg was killed may hold only its first bytes.
// It opens no link and no FIFO: only a regular file is read.
func Playable(path string) bool {
	return playableAt(unix.AT_FDCWD, path)
}

// playableAt is Playable for name relative to the directory dirfd.
func playableAt(dirfd int, name string) bool {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return false
	}
	buf := make([]byte, 1<<16)
	n, _ := io.ReadFull(f, buf)
	head := buf[:n]
	return bytes.Contains(head, []byte("moov")) && bytes.Contains(head, []byte("moof"))
}

// chownOwnDir hands a directory that root just made in dirfd to c, through a
// descriptor opened without following links, after checking it is still root's
// directory.
func chownOwnDir(dirfd int, path string, c *syscall.Credential) error {
	fd, err := unix.Openat(dirfd, path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is not the directory xinit-go made (owner uid %d)", path, st.Uid)
	}
	return unix.Fchown(fd, int(c.Uid), int(c.Gid))
}

// writeNew writes a new file name in dfd (whose path is dir), a directory the
// app user may own: an old entry of that name is unlinked (never followed), the
// file is created with O_EXCL|O_NOFOLLOW relative to the opened directory, and
// handed to c (when set) by descriptor.
func writeNew(dfd int, dir, name string, data []byte, c *syscall.Credential) error {
	if err := unix.Unlinkat(dfd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s/%s: %w", dir, name, err)
	}
	fd, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s/%s: %w", dir, name, err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir, name))
	defer f.Close()
	if c != nil {
		if err := f.Chown(int(c.Uid), int(c.Gid)); err != nil {
			return err
		}
	}
	_, err = f.Write(data)
	return err
}
