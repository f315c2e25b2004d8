package xscreen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
)

// Display is a local X display and the cookie that opens it. xinit-go connects
// to its own display (readiness, screenshots) with the cookie in hand: xgb would
// read it only from $XAUTHORITY, and setting that would change the whole
// process's environment.
type Display struct {
	Num    int
	Cookie []byte // MIT-MAGIC-COOKIE-1; nil connects without authorization
}

func (d Display) String() string { return fmt.Sprintf(":%d", d.Num) }

const cookieName = "MIT-MAGIC-COOKIE-1"

// cookieConn presents the cookie in the X connection setup: whatever
// authorization xgb put in its setup request (normally none) is replaced.
// It also sends a file descriptor with the request armed for it (passFD).
type cookieConn struct {
	net.Conn
	cookie []byte
	once   sync.Once
	pass   fdPass
}

func (c *cookieConn) Write(p []byte) (int, error) {
	first := false
	c.once.Do(func() { first = true })
	if !first {
		if n, ok, err := c.writeWithFD(p); ok {
			return n, err
		}
	}
	if !first || c.cookie == nil {
		return c.Conn.Write(p)
	}
	// The setup request: byte order, pad, major, minor, name length, data
	// length, pad, then name and data, each padded to 4 bytes.
	if len(p) < 12 || p[0] != 'l' {
		return 0, errors.New("x connection setup: unexpected request")
	}
	req := make([]byte, 12+pad4(len(cookieName))+pad4(len(c.cookie)))
	copy(req, p[:6])
	binary.LittleEndian.PutUint16(req[6:], uint16(len(cookieName)))
	binary.LittleEndian.PutUint16(req[8:], uint16(len(c.cookie)))
	copy(req[12:], cookieName)
	copy(req[12+pad4(len(cookieName)):], c.cookie)
	if _, err := c.Conn.Write(req); err != nil {
		return 0, err
	}
	return len(p), nil
}

func pad4(n int) int { return (n + 3) &^ 3 }
