package xscreen

import (
	"context"
	"testing"
	"time"

	"github.com/jezek/xgb/xproto"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

// TestInputReachesTheServer: the pointer moves where asked (scaled to the
// screen), a button is down between its press and release, and a keysym the
// keymap lacks is bound to a spare keycode while needed and unbound by Close.
func TestInputReachesTheServer(t *testing.T) {
	d := Display{Num: testutil.Xvfb(t)}
	in := NewInput(d, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, release, err := dialX(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	root := xproto.Setup(c).DefaultScreen(c).Root
	pointer := func() *xproto.QueryPointerReply {
		t.Helper()
		p, err := xproto.QueryPointer(c, root).Reply()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if w, h, err := in.Size(); err != nil || w != 640 || h != 480 {
		t.Fatalf("Size %dx%d, %v", w, h, err)
	}
	if err := in.Move(0.25, 0.5); err != nil {
		t.Fatal(err)
	}
	if p := pointer(); p.RootX != 160 || p.RootY != 240 {
		t.Errorf("pointer at %d,%d, want 160,240", p.RootX, p.RootY)
	}
	if err := in.Move(2, -1); err != nil { // clamped to the screen
		t.Fatal(err)
	}
	if p := pointer(); p.RootX != 639 || p.RootY != 0 {
		t.Errorf("pointer at %d,%d, want 639,0", p.RootX, p.RootY)
	}
	if err := in.Button(1, true); err != nil {
		t.Fatal(err)
	}
	if p := pointer(); p.Mask&xproto.KeyButMaskButton1 == 0 {
		t.Error("button 1 is not down after its press")
	}
	if err := in.Button(1, false); err != nil {
		t.Fatal(err)
	}
	if p := pointer(); p.Mask&xproto.KeyButMaskButton1 != 0 {
		t.Error("button 1 is still down after its release")
	}
	if err := in.Button(9, true); err == nil {
		t.Error("button 9 accepted")
	}

	// U+2603 SNOWMAN as a keysym: no keymap has it.
	const snowman = 0x1002603
	setup := xproto.Setup(c)
	find := func() xproto.Keycode {
		t.Helper()
		n := int(setup.MaxKeycode) - int(setup.MinKeycode) + 1
		km, err := xproto.GetKeyboardMapping(c, setup.MinKeycode, byte(n)).Reply()
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range km.Keysyms {
			if s == snowman {
				return setup.MinKeycode + xproto.Keycode(i/int(km.KeysymsPerKeycode))
			}
		}
		return 0
	}
	if find() != 0 {
		t.Fatal("the keymap has the snowman already")
	}
	if err := in.Key(snowman, true); err != nil {
		t.Fatal(err)
	}
	kc := find()
	if kc == 0 {
		t.Fatal("the snowman was not bound to a keycode")
	}
	keys, err := xproto.QueryKeymap(c).Reply()
	if err != nil {
		t.Fatal(err)
	}
	if keys.Keys[kc/8]&(1<<(kc%8)) == 0 {
		t.Errorf("keycode %d is not down", kc)
	}
	if err := in.Key(snowman, false); err != nil {
		t.Fatal(err)
	}
	// Escape is in the keymap: no binding.
	if err := in.Key(0xff1b, true); err != nil {
		t.Fatal(err)
	}
	in.Close()
	keys, _ = xproto.QueryKeymap(c).Reply()
	for i, b := range keys.Keys {
		if b != 0 {
			t.Errorf("keys still down after Close: byte %d = %08b", i, b)
		}
	}
	if find() != 0 {
		t.Error("the snowman is still bound after Close")
	}
}

// TestInputStalledServer: a server that stops answering holds a call no
// longer than the deadline.
func TestInputStalledServer(t *testing.T) {
	display, _ := testutil.StallingProxy(t, testutil.Xvfb(t))
	in := NewInput(Display{Num: display}, 200*time.Millisecond)
	defer in.Close()
	for range 2 {
		start := time.Now()
		if err := in.Move(0.5, 0.5); err == nil {
			t.Fatal("a move on a stalled server succeeded")
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("a move on a stalled server took %v", took)
		}
	}
}
