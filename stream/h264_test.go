package stream

import (
	"bytes"
	"errors"
	"testing"
)

// A small stream as x264 writes it with aud=1: a delimiter before every
// picture, SPS and PPS before the keyframe, slices. The second P picture has
// two slices (first_mb_in_slice 0, then not 0: the byte 0x40 starts ue(v) 1).
var (
	aud    = []byte{0x09, 0xf0}
	sps    = []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40}
	pps    = []byte{0x68, 0xce, 0x38, 0x80}
	sei    = []byte{0x06, 0x05, 0x01, 0xaa, 0x80}
	idr    = []byte{0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x00, 0x21}
	p1     = []byte{0x41, 0x9a, 0x22, 0x11}
	p2a    = []byte{0x41, 0x9a, 0x44, 0x22}
	p2b    = []byte{0x41, 0x40, 0x55, 0x33}
	p3     = []byte{0x41, 0x9a, 0x66, 0x44, 0x00} // a trailing zero: stream padding
	short  = []byte{0, 0, 1}
	long   = []byte{0, 0, 0, 1}
	stream = join(
		long, aud, long, sps, long, pps, long, sei, long, idr,
		long, aud, short, p1,
		long, aud, long, p2a, short, p2b,
		short, aud, long, p3,
	)
)

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// annexB is what the splitter gives back: each NAL unit after a four-byte start code.
func annexB(nals ...[]byte) []byte {
	var b []byte
	for _, n := range nals {
		b = append(b, 0, 0, 0, 1)
		b = append(b, bytes.TrimRight(n, "\x00")...)
	}
	return b
}

var want = []AU{
	{Data: annexB(aud, sps, pps, sei, idr), Key: true, SPS: sps},
	{Data: annexB(aud, p1)},
	{Data: annexB(aud, p2a, p2b)},
	{Data: annexB(aud, p3)},
}

func check(t *testing.T, got []AU) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d units, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if !bytes.Equal(got[i].Data, want[i].Data) || got[i].Key != want[i].Key || !bytes.Equal(got[i].SPS, want[i].SPS) {
			t.Errorf("unit %d:\n got %x key %v sps %x\nwant %x key %v sps %x", i,
				got[i].Data, got[i].Key, got[i].SPS, want[i].Data, want[i].Key, want[i].SPS)
		}
	}
}

func TestSplitterWhole(t *testing.T) {
	var s Splitter
	got, err := s.Write(stream)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("before the end: %d units, want 3 (the last waits for the next one's start)", len(got))
	}
	check(t, append(got, s.Flush()...))
}

// Any cut of the stream, start codes split included, gives the same units.
func TestSplitterEveryPieceSize(t *testing.T) {
	for size := 1; size <= len(stream); size++ {
		var s Splitter
		var got []AU
		for i := 0; i < len(stream); i += size {
			aus, err := s.Write(stream[i:min(i+size, len(stream))])
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, aus...)
		}
		got = append(got, s.Flush()...)
		if t.Run("", func(t *testing.T) { check(t, got) }); t.Failed() {
			t.Fatalf("pieces of %d bytes", size)
		}
	}
}

// Bytes before the first start code are not H.264 and are dropped; a unit
// without a slice is not a picture.
func TestSplitterGarbageAndNoPicture(t *testing.T) {
	var s Splitter
	got, _ := s.Write(join([]byte{7, 7, 7, 7, 7}, stream))
	check(t, append(got, s.Flush()...))
	got, _ = s.Write(join(long, aud, long, sps, long, pps))
	if got = append(got, s.Flush()...); len(got) != 0 {
		t.Errorf("parameter sets alone gave %d units", len(got))
	}
}

func TestSplitterBound(t *testing.T) {
	s := Splitter{MaxAU: 24}
	_, err := s.Write(join(long, aud, long, idr, idr, idr, idr))
	if !errors.As(err, new(ErrTooLarge)) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
	// It starts over cleanly.
	got, err := s.Write(join(long, aud, long, p1, long, aud, long, p1))
	if err != nil || len(got) != 1 || !bytes.Equal(got[0].Data, annexB(aud, p1)) {
		t.Errorf("after the bound: %v, %v", got, err)
	}
}

func TestCodec(t *testing.T) {
	for _, tc := range []struct {
		sps  []byte
		want string
	}{
		{sps, "avc1.42c01f"},
		{[]byte{0x67, 0x4d, 0x40, 0x28, 0x00}, "avc1.4d4028"},
		{[]byte{0x67, 0x42}, ""},
	} {
		if got := Codec(tc.sps); got != tc.want {
			t.Errorf("Codec(%x) = %q, want %q", tc.sps, got, tc.want)
		}
	}
}

func FuzzSplitter(f *testing.F) {
	f.Add(stream, 3)
	f.Fuzz(func(t *testing.T, b []byte, size int) {
		if size <= 0 {
			size = 1
		}
		s := Splitter{MaxAU: 1 << 16}
		n := 0
		for i := 0; i < len(b); i += size {
			aus, _ := s.Write(b[i:min(i+size, len(b))])
			n += len(aus)
		}
		for _, au := range append([]AU(nil), s.Flush()...) {
			if !bytes.HasPrefix(au.Data, []byte{0, 0, 0, 1}) {
				t.Fatalf("a unit without a start code: %x", au.Data)
			}
		}
	})
}
