package xscreen

import (
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xproto"
	"golang.org/x/sys/unix"
)

// shmStrips is a Conn's shared memory: one memfd of readAhead strips, which
// the X server attached as one MIT-SHM segment (ShmAttachFd, MIT-SHM 1.2) and
// writes each strip's pixels into, strip k at offset (k mod readAhead) times
// the strip size; the reply carries only their size. A read then copies
// nothing through the socket and allocates nothing, where GetImage moves
// every pixel through it into two fresh buffers (xgb's and the reply's).
//
// The memory has no name another process can attach: it is not a System V
// segment (whose id anyone reads in /proc/sysvipc/shm, and which an X server
// that already holds it attaches for any client without checking), only a
// file descriptor handed to the X server over the connection's socket and
// closed here once the server has it. It goes when both sides let go, also
// when either is killed. Its size is sealed, so no side can shrink it under
// the other's mapping, and this side maps it read-only.
//
// Any X client may still name the segment's id in its own requests (X has no
// owner check without an access-control extension), so an app can put its
// own pixels into a read it races; it could draw them on the screen as well.
// Screenshots, the evidence of the failure bundle, read through the socket.
type shmStrips struct {
	seg shm.Seg
	mem []byte // readAhead strips of stripBytes
}

// offset is where strip k lands in the memory.
func offset(k int) int { return (k % readAhead) * stripBytes }

// strip is strip k's memory.
func (s *shmStrips) strip(k int) []byte { return s.mem[offset(k) : offset(k)+stripBytes] }

// useSHM sets up c's shared memory, or says why not; the caller then reads
// with GetImage. It runs under the caller's deadline.
func (c *Conn) useSHM() (*shmStrips, error) {
	if err := enableExtensions(c.x); err != nil {
		return nil, err
	}
	if !hasExtension(c.x, "MIT-SHM") {
		return nil, errors.New("the X server has no MIT-SHM extension")
	}
	v, err := shm.QueryVersion(c.x).Reply()
	if err != nil {
		return nil, fmt.Errorf("MIT-SHM QueryVersion: %w", err)
	}
	if v.MajorVersion < 1 || v.MajorVersion == 1 && v.MinorVersion < 2 {
		return nil, fmt.Errorf("MIT-SHM %d.%d has no ShmAttachFd (1.2)", v.MajorVersion, v.MinorVersion)
	}
	if _, ok := c.cc.Conn.(*net.UnixConn); !ok {
		return nil, errors.New("not a Unix socket: no file descriptor can pass")
	}
	fd, err := unix.MemfdCreate("xinit-go-screen", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	defer unix.Close(fd)
	total := stripBytes * readAhead
	if err := unix.Ftruncate(fd, int64(total)); err != nil {
		return nil, fmt.Errorf("memfd: %w", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
		return nil, fmt.Errorf("memfd seals: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, total, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	seg, err := shm.NewSegId(c.x)
	if err == nil {
		c.cc.passFD(fd, attachFdRequest(c.x))
		err = shm.AttachFdChecked(c.x, seg, false).Check()
		if c.cc.passFD(-1, nil) && err == nil {
			err = errors.New("the file descriptor was not sent")
		}
	}
	if err != nil {
		_ = unix.Munmap(mem)
		return nil, fmt.Errorf("MIT-SHM AttachFd: %w", err)
	}
	return &shmStrips{seg: seg, mem: mem}, nil
}

// attachFdRequest is how an AttachFd request on x begins: the extension's
// opcode, the request's (6) and its length in words (3).
func attachFdRequest(x *xgb.Conn) []byte {
	x.ExtLock.RLock()
	defer x.ExtLock.RUnlock()
	return []byte{x.Extensions["MIT-SHM"], 6, 3, 0}
}

// detach lets go of this side's mapping; the X server lets go of its own when
// the connection closes.
func (s *shmStrips) detach() {
	_ = unix.Munmap(s.mem)
	s.mem = nil
}

// fdPass is a file descriptor that goes with the next request that begins
// with head, as SCM_RIGHTS ancillary data: xgb writes each request in one
// Write and has no way to send a descriptor itself.
type fdPass struct {
	mu   sync.Mutex
	fd   int
	head []byte
}

// passFD arms the connection to send fd with the request that begins with
// head (fd -1 disarms). It reports whether a descriptor was still waiting.
func (c *cookieConn) passFD(fd int, head []byte) (waiting bool) {
	c.pass.mu.Lock()
	defer c.pass.mu.Unlock()
	waiting = c.pass.head != nil
	c.pass.fd, c.pass.head = fd, head
	if fd < 0 {
		c.pass.head = nil
	}
	return waiting
}

// writeWithFD sends p with the armed descriptor when p is the request it
// waits for; ok is false when it is not.
func (c *cookieConn) writeWithFD(p []byte) (n int, ok bool, err error) {
	c.pass.mu.Lock()
	defer c.pass.mu.Unlock()
	if c.pass.head == nil || len(p) < len(c.pass.head) || string(p[:len(c.pass.head)]) != string(c.pass.head) {
		return 0, false, nil
	}
	uc, isUnix := c.Conn.(*net.UnixConn)
	if !isUnix {
		return 0, false, nil
	}
	n, _, err = uc.WriteMsgUnix(p, unix.UnixRights(c.pass.fd), nil)
	c.pass.head = nil
	return n, true, err
}

// decoders guards xgb's process-wide tables of event and error decoders
// (xgb.NewEventFuncs, NewErrorFuncs). xgb's extension Init functions write
// them on every call, while the reader goroutine of every connection reads
// them, without a lock, at each event or error: a map written while read ends
// the process. Here a connection asks for all the extensions xscreen uses at
// once, before its first use of any (the DAMAGE watch, the first read, the
// input), and a decoder is added only where the table has none for that
// number: with one X server (xinit-go's), every addition happens at the first
// such use, before any connection has asked for an event.
var decoders sync.Mutex

// extensions are the X extensions xscreen uses.
var extensions = []string{"DAMAGE", "XFIXES", "XTEST", "MIT-SHM"}

// enableExtensions asks x's server for each of the extensions, records the
// opcodes of those it has on x (what each xgb extension package's requests
// read) and adds their decoders where the tables have none. An extension the
// server lacks is left out: hasExtension then says so.
func enableExtensions(x *xgb.Conn) error {
	cookies := make([]xproto.QueryExtensionCookie, len(extensions))
	for i, name := range extensions {
		cookies[i] = xproto.QueryExtension(x, uint16(len(name)), name)
	}
	decoders.Lock()
	defer decoders.Unlock()
	for i, name := range extensions {
		rep, err := cookies[i].Reply()
		if err != nil {
			return fmt.Errorf("QueryExtension %s: %w", name, err)
		}
		if !rep.Present {
			continue
		}
		x.ExtLock.Lock()
		x.Extensions[name] = rep.MajorOpcode
		x.ExtLock.Unlock()
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
	}
	return nil
}

// hasExtension says whether x's server has the extension (enableExtensions
// ran on x).
func hasExtension(x *xgb.Conn, name string) bool {
	x.ExtLock.RLock()
	defer x.ExtLock.RUnlock()
	_, ok := x.Extensions[name]
	return ok
}
