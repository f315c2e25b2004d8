package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// rfbClient is a VNC viewer written for the benchmark: it asks for what noVNC
// 1.3 asks for (Tight with quality 6 and compression 2, CopyRect, Raw), keeps
// one incremental update request outstanding as a viewer does, and parses the
// updates without decoding the pixels, so it measures the server and the
// transport, not a decoder.
type rfbClient struct {
	c     net.Conn
	r     *bufio.Reader
	W, H  int
	bytes countingReader
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// RFB encodings.
const (
	encRaw         = 0
	encCopyRect    = 1
	encTight       = 7
	encQuality6    = -32 + 6
	encCompress2   = -256 + 2
	encDesktopSize = -223
	encLastRect    = -224
)

// newRFBClient does the RFB 3.8 handshake with no authentication (the benchmark's
// x11vnc runs with -localhost -nopw) and sends the pixel format and encodings.
func newRFBClient(c net.Conn) (*rfbClient, error) {
	rc := &rfbClient{c: c}
	rc.bytes.r = c
	rc.r = bufio.NewReaderSize(&rc.bytes, 256<<10)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	ver := make([]byte, 12)
	if _, err := io.ReadFull(rc.r, ver); err != nil {
		return nil, fmt.Errorf("banner: %w", err)
	}
	if _, err := c.Write([]byte("RFB 003.008\n")); err != nil {
		return nil, err
	}
	n, err := rc.r.ReadByte()
	if err != nil || n == 0 {
		return nil, fmt.Errorf("security types: %d, %v", n, err)
	}
	types := make([]byte, n)
	if _, err := io.ReadFull(rc.r, types); err != nil {
		return nil, err
	}
	none := false
	for _, t := range types {
		none = none || t == 1
	}
	if !none {
		return nil, fmt.Errorf("the server wants authentication (types %v); run it with -nopw", types)
	}
	if _, err := c.Write([]byte{1}); err != nil {
		return nil, err
	}
	var result uint32
	if err := binary.Read(rc.r, binary.BigEndian, &result); err != nil || result != 0 {
		return nil, fmt.Errorf("security result %d, %v", result, err)
	}
	if _, err := c.Write([]byte{1}); err != nil { // ClientInit: shared
		return nil, err
	}
	var init struct {
		W, H uint16
		PF   [16]byte
		N    uint32
	}
	if err := binary.Read(rc.r, binary.BigEndian, &init); err != nil {
		return nil, fmt.Errorf("server init: %w", err)
	}
	if _, err := io.CopyN(io.Discard, rc.r, int64(init.N)); err != nil {
		return nil, err
	}
	rc.W, rc.H = int(init.W), int(init.H)
	// SetPixelFormat: 32 bpp, depth 24, little-endian true colour, as noVNC.
	pf := []byte{0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0}
	encs := []int32{encCopyRect, encTight, encRaw, encQuality6, encCompress2, encDesktopSize, encLastRect}
	msg := append(pf, 2, 0, 0, byte(len(encs)))
	for _, e := range encs {
		msg = binary.BigEndian.AppendUint32(msg, uint32(e))
	}
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	return rc, rc.request(false)
}

func (rc *rfbClient) request(incremental bool) error {
	inc := byte(0)
	if incremental {
		inc = 1
	}
	msg := []byte{3, inc, 0, 0, 0, 0, byte(rc.W >> 8), byte(rc.W), byte(rc.H >> 8), byte(rc.H)}
	_, err := rc.c.Write(msg)
	return err
}

// update reads server messages until a framebuffer update, requests the next
// one, and returns the area the update covered.
func (rc *rfbClient) update() (area int64, err error) {
	for {
		t, err := rc.r.ReadByte()
		if err != nil {
			return 0, err
		}
		switch t {
		case 0:
			// Ask for the next update at once, as a viewer does, then parse.
			if err := rc.request(true); err != nil {
				return 0, err
			}
			return rc.rects()
		case 1: // SetColourMapEntries
			var h struct {
				Pad      byte
				First, N uint16
			}
			if err := binary.Read(rc.r, binary.BigEndian, &h); err != nil {
				return 0, err
			}
			if _, err := rc.r.Discard(int(h.N) * 6); err != nil {
				return 0, err
			}
		case 2: // Bell
		case 3: // ServerCutText
			var h struct {
				Pad [3]byte
				N   uint32
			}
			if err := binary.Read(rc.r, binary.BigEndian, &h); err != nil {
				return 0, err
			}
			if _, err := io.CopyN(io.Discard, rc.r, int64(h.N)); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("unknown server message %d", t)
		}
	}
}

func (rc *rfbClient) rects() (int64, error) {
	var h struct {
		Pad byte
		N   uint16
	}
	if err := binary.Read(rc.r, binary.BigEndian, &h); err != nil {
		return 0, err
	}
	var area int64
	for i := 0; h.N == 0xFFFF || i < int(h.N); i++ {
		var r struct {
			X, Y, W, H uint16
			Enc        int32
		}
		if err := binary.Read(rc.r, binary.BigEndian, &r); err != nil {
			return 0, err
		}
		w, hh := int(r.W), int(r.H)
		switch r.Enc {
		case encLastRect:
			return area, nil
		case encDesktopSize:
			rc.W, rc.H = w, hh
			continue
		case encRaw:
			if _, err := rc.r.Discard(w * hh * 4); err != nil {
				return 0, err
			}
		case encCopyRect:
			if _, err := rc.r.Discard(4); err != nil {
				return 0, err
			}
		case encTight:
			if err := rc.tight(w, hh); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("unexpected encoding %d", r.Enc)
		}
		area += int64(w) * int64(hh)
	}
	return area, nil
}

// tight skips one Tight rectangle (RFB 3.8 with 32 bpp, depth 24: 3-byte TPIXELs).
func (rc *rfbClient) tight(w, h int) error {
	ctl, err := rc.r.ReadByte()
	if err != nil {
		return err
	}
	switch ctl >> 4 {
	case 8: // fill
		_, err := rc.r.Discard(3)
		return err
	case 9: // JPEG
		n, err := rc.compactLen()
		if err != nil {
			return err
		}
		_, err = rc.r.Discard(n)
		return err
	}
	if ctl>>4 > 9 {
		return fmt.Errorf("bad Tight control byte %#x", ctl)
	}
	filter := byte(0)
	if ctl&0x40 != 0 {
		if filter, err = rc.r.ReadByte(); err != nil {
			return err
		}
	}
	size := w * h * 3
	switch filter {
	case 0: // copy
	case 1: // palette
		nc, err := rc.r.ReadByte()
		if err != nil {
			return err
		}
		colours := int(nc) + 1
		if _, err := rc.r.Discard(colours * 3); err != nil {
			return err
		}
		if colours == 2 {
			size = (w + 7) / 8 * h
		} else {
			size = w * h
		}
	case 2: // gradient
	default:
		return fmt.Errorf("bad Tight filter %d", filter)
	}
	if size < 12 {
		_, err := rc.r.Discard(size)
		return err
	}
	n, err := rc.compactLen()
	if err != nil {
		return err
	}
	_, err = rc.r.Discard(n)
	return err
}

func (rc *rfbClient) compactLen() (int, error) {
	n := 0
	for i := 0; i < 3; i++ {
		b, err := rc.r.ReadByte()
		if err != nil {
			return 0, err
		}
		if i < 2 {
			n |= int(b&0x7f) << (7 * i)
			if b&0x80 == 0 {
				return n, nil
			}
		} else {
			n |= int(b) << 14
		}
	}
	if n > 64<<20 {
		return 0, errors.New("tight rectangle too large")
	}
	return n, nil
}
