package xscreen

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xproto"
	"golang.org/x/sys/unix"
)

// shmStrips are a Conn's MIT-SHM segments, one per strip asked for ahead: the
// X server writes each strip's pixels into one, and the reply carries only
// their size. A read then copies nothing through the socket and allocates
// nothing, where GetImage moves every pixel through it into two fresh buffers
// (xgb's and the reply's).
//
// A segment is made 0600 for this process's user, attached by the X server
// and then marked for removal at once: it goes when both sides have let go,
// also when either is killed, and no other process can attach it by its id.
// The X server must share this process's IPC namespace (it writes into the
// segment that has the id in its namespace); useSHM checks that before asking.
type shmStrips struct {
	segs []shm.Seg
	mem  [][]byte
}

// useSHM sets up c's segments of size bytes each, or says why not; the caller
// then reads with GetImage. It runs under the caller's deadline.
func (c *Conn) useSHM(size int) (*shmStrips, error) {
	if err := sameIPCNamespace(c.nc); err != nil {
		return nil, err
	}
	if err := enableExtension(c.x, "MIT-SHM"); err != nil {
		return nil, err
	}
	s := &shmStrips{}
	for range readAhead {
		id, err := unix.SysvShmGet(unix.IPC_PRIVATE, size, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
		if err != nil {
			s.detach()
			return nil, fmt.Errorf("shmget: %w", err)
		}
		mem, err := unix.SysvShmAttach(id, 0, 0)
		if err != nil {
			_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
			s.detach()
			return nil, fmt.Errorf("shmat: %w", err)
		}
		seg, err := shm.NewSegId(c.x)
		if err == nil {
			err = shm.AttachChecked(c.x, seg, uint32(id), false).Check()
		}
		// Marked for removal whether the server took it or not: from here it
		// lives only as long as the two attachments.
		_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		if err != nil {
			_ = unix.SysvShmDetach(mem)
			s.detach()
			return nil, fmt.Errorf("MIT-SHM Attach: %w", err)
		}
		s.segs = append(s.segs, seg)
		s.mem = append(s.mem, mem)
	}
	return s, nil
}

// detach lets go of this side's mappings; the X server lets go of its own when
// the connection closes.
func (s *shmStrips) detach() {
	for _, m := range s.mem {
		_ = unix.SysvShmDetach(m)
	}
	s.mem, s.segs = nil, nil
}

// sameIPCNamespace checks that the process at the other end of a Unix socket
// (the X server) shares this process's IPC namespace, by its credentials and
// /proc. A server elsewhere (its socket shared into this container, for one)
// would attach another segment of the same id.
func sameIPCNamespace(nc net.Conn) error {
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		return errors.New("not a Unix socket")
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	var credErr error
	if err := rc.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if credErr != nil {
		return fmt.Errorf("SO_PEERCRED: %w", credErr)
	}
	if cred.Pid <= 0 {
		return errors.New("the X server is outside this PID namespace")
	}
	theirs, err := os.Readlink("/proc/" + strconv.Itoa(int(cred.Pid)) + "/ns/ipc")
	if err != nil {
		return err
	}
	ours, err := os.Readlink("/proc/self/ns/ipc")
	if err != nil {
		return err
	}
	if theirs != ours {
		return fmt.Errorf("the X server's IPC namespace is %s, this process's %s", theirs, ours)
	}
	return nil
}

// extMu serializes enableExtension's additions to xgb's process-wide tables of
// event and error decoders.
var extMu sync.Mutex

// enableExtension does what the xgb extension packages' Init does, without
// writing xgb's process-wide decoder tables each time: Init writes them on
// every call, while the reader goroutine of every other connection reads them
// at each event or error, and a map written while read ends the process. A
// decoder is added only where the table has none for that number yet, which
// is once per process for the X server it supervises.
func enableExtension(c *xgb.Conn, name string) error {
	rep, err := xproto.QueryExtension(c, uint16(len(name)), name).Reply()
	if err != nil {
		return fmt.Errorf("QueryExtension %s: %w", name, err)
	}
	if !rep.Present {
		return fmt.Errorf("the X server has no %s extension", name)
	}
	c.ExtLock.Lock()
	c.Extensions[name] = rep.MajorOpcode
	c.ExtLock.Unlock()
	extMu.Lock()
	defer extMu.Unlock()
	for n, fn := range xgb.NewExtEventFuncs[name] {
		if _, ok := xgb.NewEventFuncs[int(rep.FirstEvent)+n]; !ok {
			xgb.NewEventFuncs[int(rep.FirstEvent)+n] = fn
		}
	}
	for n, fn := range xgb.NewExtErrorFuncs[name] {
		if _, ok := xgb.NewErrorFuncs[int(rep.FirstError)+n]; !ok {
			xgb.NewErrorFuncs[int(rep.FirstError)+n] = fn
		}
	}
	return nil
}
