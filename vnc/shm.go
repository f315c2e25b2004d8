package vnc

import (
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/xinit-go/xinit-go/internal/procfs"
)

// x11vnc makes System V shared memory segments for MIT-SHM. When it is killed, or
// dies on an X I/O error, they stay until the IPC namespace ends: a long-lived
// session whose x11vnc restarts now and then would run out of segments (shmget:
// "No space left on device") and VNC could no longer start. shmSweeper removes
// them.
//
// A segment is removed only when it is certainly one of a dead x11vnc's: its
// creator pid is the dead process's and no process has that pid now (a reused pid
// could be a new process in the window between its shmget and shmat), its
// creator uid is x11vnc's, it was created while that x11vnc lived, and nothing
// has it attached.
type shmSweeper struct {
	fs      procfs.FS
	uid     int // x11vnc's user
	rmid    func(id int) error
	log     *zap.Logger
	started time.Time // of the x11vnc now running
	dead    []deadProc
}

// deadProc is a process that exited: pid, its user, and its lifetime.
type deadProc struct {
	pid, uid   int
	start, end time.Time
}

// maxDead bounds the list of exited x11vnc processes whose segments may still
// be around (attached by the X server for a moment, or behind a reused pid).
const maxDead = 32

func newShmSweeper(uid int, log *zap.Logger) *shmSweeper {
	return &shmSweeper{fs: procfs.Default, uid: uid, log: log, rmid: func(id int) error {
		_, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		return err
	}}
}

// starting is called just before x11vnc starts.
func (s *shmSweeper) starting(now time.Time) {
	s.started = now
	s.sweep()
}

// exited is called once x11vnc with pid is reaped.
func (s *shmSweeper) exited(pid int, now time.Time) {
	s.dead = append(s.dead, deadProc{pid: pid, uid: s.uid, start: s.started, end: now})
	if len(s.dead) > maxDead {
		s.dead = s.dead[len(s.dead)-maxDead:]
	}
	s.sweep()
}

// sweep removes the orphaned segments and keeps the dead processes that may
// still have some.
func (s *shmSweeper) sweep() {
	if len(s.dead) == 0 {
		return
	}
	segs, err := s.fs.SysVShm()
	if err != nil {
		s.log.Debug("cannot read the shared memory table", zap.Error(err))
		return
	}
	var keep []deadProc
	for _, d := range s.dead {
		_, err := s.fs.Stat(d.pid)
		alive := err == nil
		removed, left := 0, 0
		for _, seg := range segs {
			if !d.made(seg) {
				continue
			}
			if !alive && seg.NAttch == 0 && s.rmid(seg.ID) == nil {
				removed++
				continue
			}
			left++
		}
		if removed > 0 {
			s.log.Debug("removed the shared memory x11vnc left", zap.Int("pid", d.pid), zap.Int("segments", removed))
		}
		if left > 0 {
			keep = append(keep, d)
		}
	}
	s.dead = keep
}

// made reports whether seg was created by the process d while it lived. ctime has
// a resolution of one second.
func (d deadProc) made(seg procfs.ShmSegment) bool {
	return seg.CPID == d.pid && seg.CUID == d.uid &&
		!seg.CTime.Before(d.start.Truncate(time.Second)) && !seg.CTime.After(d.end)
}
