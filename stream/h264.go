package stream

import "fmt"

// NAL unit types that matter here (ITU-T H.264 table 7-1).
const (
	nalSlice = 1
	nalIDR   = 5
	nalSEI   = 6
	nalSPS   = 7
	nalPPS   = 8
	nalAUD   = 9
)

// AU is one access unit: every NAL unit of one picture, in Annex B form with
// four-byte start codes. A keyframe (an IDR picture) carries the SPS and PPS
// before it, so a decoder can start from it.
type AU struct {
	Data []byte
	Key  bool
	// SPS is the sequence parameter set's NAL unit when the unit has one.
	SPS []byte
}

// Splitter cuts an Annex B byte stream into access units. Write takes bytes as
// they come from the encoder, in pieces of any size, and returns the units it
// completed: a unit is complete when the next one begins (an access unit
// delimiter, an SPS, PPS or SEI after a slice, or a slice that starts a new
// picture), so the newest unit waits for the next one's first bytes. The
// encoder writes a delimiter at the start of every picture, so that wait is one
// frame interval.
type Splitter struct {
	buf    []byte // bytes not yet cut into NAL units
	cur    []byte // the unit being gathered
	curVCL bool
	curKey bool
	curSPS []byte
	scan   int // bytes of buf after its first start code already searched
	// MaxAU bounds a unit; a stream that exceeds it is not H.264 as expected.
	MaxAU int
}

// ErrTooLarge is returned when a unit outgrows MaxAU.
type ErrTooLarge struct{ Size int }

func (e ErrTooLarge) Error() string {
	return fmt.Sprintf("an access unit of more than %d bytes: not the expected H.264 stream", e.Size)
}

// Write adds p and returns the units completed by it.
func (s *Splitter) Write(p []byte) ([]AU, error) {
	s.buf = append(s.buf, p...)
	var out []AU
	// Every NAL unit but the last is complete: the last may still grow.
	start := startCode(s.buf, 0)
	if start < 0 {
		// No start code at all yet: keep at most the tail that may begin one.
		if len(s.buf) > 3 {
			s.buf = append(s.buf[:0], s.buf[len(s.buf)-3:]...)
		}
		return nil, nil
	}
	pos := start
	for {
		payload := pos + codeLen(s.buf, pos)
		next := startCode(s.buf, max(payload, pos+s.scan))
		if next < 0 {
			// Next time, search on from where this search stopped (a start
			// code may straddle the two writes).
			s.scan = max(0, len(s.buf)-pos-3)
			break
		}
		s.scan = 0
		if au, ok := s.nal(trimZeros(s.buf[payload:next])); ok {
			out = append(out, au)
		}
		pos = next
	}
	s.buf = append(s.buf[:0], s.buf[pos:]...)
	if limit := s.MaxAU; limit > 0 && len(s.cur)+len(s.buf) > limit {
		s.reset()
		return out, ErrTooLarge{limit}
	}
	return out, nil
}

// Flush ends the stream: the last NAL unit and the unit it belongs to are
// complete.
func (s *Splitter) Flush() []AU {
	var out []AU
	if start := startCode(s.buf, 0); start >= 0 {
		payload := start + codeLen(s.buf, start)
		if au, ok := s.nal(trimZeros(s.buf[payload:])); ok {
			out = append(out, au)
		}
	}
	s.buf, s.scan = s.buf[:0], 0
	if au, ok := s.take(); ok {
		out = append(out, au)
	}
	return out
}

func (s *Splitter) reset() {
	s.buf, s.scan, s.cur, s.curVCL, s.curKey, s.curSPS = s.buf[:0], 0, nil, false, false, nil
}

// nal adds one NAL unit, returning the unit it completed, if any.
func (s *Splitter) nal(n []byte) (AU, bool) {
	if len(n) == 0 {
		return AU{}, false
	}
	typ := n[0] & 0x1f
	vcl := typ == nalSlice || typ == nalIDR
	var done AU
	ok := false
	if s.curVCL && startsUnit(n) {
		done, ok = s.take()
	}
	s.cur = append(s.cur, 0, 0, 0, 1)
	s.cur = append(s.cur, n...)
	if vcl {
		s.curVCL = true
	}
	if typ == nalIDR {
		s.curKey = true
	}
	if typ == nalSPS {
		s.curSPS = append([]byte(nil), n...)
	}
	return done, ok
}

// take hands over the unit gathered so far, if it holds a picture.
func (s *Splitter) take() (AU, bool) {
	if !s.curVCL {
		return AU{}, false
	}
	au := AU{Data: s.cur, Key: s.curKey, SPS: s.curSPS}
	s.cur, s.curVCL, s.curKey, s.curSPS = nil, false, false, nil
	return au, true
}

// startsUnit reports whether a NAL unit that follows a picture's slices begins
// the next access unit (H.264 7.4.1.2.3): a delimiter, parameter sets, SEI,
// the reserved types 14 to 18, or a slice whose first macroblock is 0.
func startsUnit(n []byte) bool {
	switch typ := n[0] & 0x1f; {
	case typ == nalAUD, typ == nalSPS, typ == nalPPS, typ == nalSEI, typ >= 14 && typ <= 18:
		return true
	case typ == nalSlice || typ == nalIDR:
		// first_mb_in_slice is ue(v) first in the header: 0 is the single bit 1.
		return len(n) > 1 && n[1]&0x80 != 0
	}
	return false
}

// startCode finds the next 00 00 01 at or after from; it returns the index of
// the start code's first byte (a four-byte 00 00 00 01 counts from its first
// zero), or -1.
func startCode(b []byte, from int) int {
	for i := from; i+2 < len(b); i++ {
		if b[i+2] > 1 {
			i += 2
			continue
		}
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if i > from && b[i-1] == 0 {
				return i - 1
			}
			return i
		}
	}
	return -1
}

func codeLen(b []byte, at int) int {
	if b[at+2] == 1 {
		return 3
	}
	return 4
}

// trimZeros drops trailing zero bytes: an RBSP ends with a one bit, so they
// belong to the stream's padding, never to the unit.
func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// Codec is the codec string a browser's decoder takes for a stream with this
// SPS (RFC 6381: avc1.PPCCLL), "" when sps is too short.
func Codec(sps []byte) string {
	if len(sps) < 4 {
		return ""
	}
	return fmt.Sprintf("avc1.%02x%02x%02x", sps[1], sps[2], sps[3])
}
