package xserver

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"strconv"
)

// Authority makes the contents of an Xauthority file with one MIT-MAGIC-COOKIE-1 for the
// display, for any host (FamilyWild): the X server reads it with -auth, clients
// with XAUTHORITY. Without it any process that can reach the display's socket,
// another container of the pod through the abstract socket among them, could draw
// on the screen and read it.
func Authority(display int) (file, cookie []byte, err error) {
	cookie = make([]byte, 16)
	if _, err := rand.Read(cookie); err != nil {
		return nil, nil, err
	}
	var b bytes.Buffer
	field := func(v []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint16(len(v)))
		b.Write(v)
	}
	_ = binary.Write(&b, binary.BigEndian, uint16(0xffff)) // FamilyWild
	field(nil)
	field([]byte(strconv.Itoa(display)))
	field([]byte("MIT-MAGIC-COOKIE-1"))
	field(cookie)
	return b.Bytes(), cookie, nil
}
