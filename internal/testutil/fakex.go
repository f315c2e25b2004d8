package testutil

import (
	"encoding/binary"
	"io"
	"net"
	"sync/atomic"
	"testing"
)

// FakeX behaviours.
const (
	// XSilent accepts and never answers, not even the connection setup: a
	// stopped X server (SIGSTOP) whose socket still accepts into its backlog.
	XSilent = iota
	// XStallAfterSetup completes the connection setup (one screen of 64x48 at
	// depth 24), then reads requests and answers none: a server that hangs
	// after the handshake.
	XStallAfterSetup
)

// FakeX serves an X server that stops answering on a Unix socket at path
// until the test ends. It counts the clients that went away (closed their
// side of the socket).
func FakeX(t testing.TB, path string, behaviour int) (gone *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	gone = &atomic.Int32{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if behaviour == XStallAfterSetup && !fakeSetup(c) {
					return
				}
				_, _ = io.Copy(io.Discard, c) // until the client closes
				gone.Add(1)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return gone
}

// fakeSetup reads a connection setup request and answers it.
func fakeSetup(c net.Conn) bool {
	req := make([]byte, 12)
	if _, err := io.ReadFull(c, req); err != nil {
		return false
	}
	rest := make([]byte, pad4(int(binary.LittleEndian.Uint16(req[6:])))+pad4(int(binary.LittleEndian.Uint16(req[8:]))))
	if _, err := io.ReadFull(c, rest); err != nil {
		return false
	}
	_, err := c.Write(SetupReply(64, 48))
	return err == nil
}

// SetupReply is a valid X connection setup reply for one screen of w x h at
// depth 24, 32 bits per pixel, with no visuals.
func SetupReply(w, h int) []byte {
	vendor := "fake"
	b := make([]byte, 40+pad4(len(vendor))+8+40)
	le := binary.LittleEndian
	b[0] = 1 // success
	le.PutUint16(b[2:], 11)
	le.PutUint16(b[6:], uint16((len(b)-8)/4))
	le.PutUint32(b[12:], 0x00200000) // resource id base
	le.PutUint32(b[16:], 0x001fffff) // resource id mask
	le.PutUint16(b[24:], uint16(len(vendor)))
	le.PutUint16(b[26:], 0xffff) // maximum request length
	b[28], b[29] = 1, 1          // screens, formats
	b[32], b[33], b[34], b[35] = 32, 32, 8, 255
	copy(b[40:], vendor)
	f := b[40+pad4(len(vendor)):]
	f[0], f[1], f[2] = 24, 32, 32 // depth 24 at 32 bits per pixel
	s := f[8:]
	le.PutUint32(s[0:], 0x100) // root
	le.PutUint16(s[20:], uint16(w))
	le.PutUint16(s[22:], uint16(h))
	s[38] = 24 // root depth
	return b
}

func pad4(n int) int { return (n + 3) &^ 3 }
