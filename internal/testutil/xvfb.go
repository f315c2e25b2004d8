package testutil

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// xSocketDir is where local X servers put their sockets.
const xSocketDir = "/tmp/.X11-unix"

// Xvfb runs a bare Xvfb (no -auth: local clients need no cookie) at 640x480
// and returns its display.
func Xvfb(t *testing.T) int {
	t.Helper()
	return XvfbScreen(t, "640x480x24")
}

// XvfbScreen is Xvfb with the screen given as Xvfb takes it (WxHxDEPTH) and
// more arguments of Xvfb's (e.g. "-extension", "MIT-SHM").
func XvfbScreen(t *testing.T, screen string, args ...string) int {
	t.Helper()
	Need(t, "Xvfb")
	display := FreeDisplay(t)
	x := exec.Command("Xvfb", append([]string{":" + strconv.Itoa(display), "-nolisten", "tcp", "-screen", "0", screen}, args...)...)
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.Process.Kill(); _ = x.Wait() })
	Eventually(t, 20*time.Second, "Xvfb's socket", func() bool {
		c, err := net.Dial("unix", filepath.Join(xSocketDir, fmt.Sprintf("X%d", display)))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return display
}

// StallingProxy serves a display that passes the connection setup through to a
// real X server, then swallows every reply: a server that completed the
// handshake and then stalled (a GPU stuck reading memory). It counts the
// connections its clients have closed.
func StallingProxy(t *testing.T, real int) (display int, closed *atomic.Int32) {
	t.Helper()
	display = FreeDisplay(t)
	path := filepath.Join(xSocketDir, fmt.Sprintf("X%d", display))
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); os.Remove(path) })
	closed = &atomic.Int32{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("unix", filepath.Join(xSocketDir, fmt.Sprintf("X%d", real)))
			if err != nil {
				c.Close()
				continue
			}
			go func() { _, _ = io.Copy(s, c); closed.Add(1); s.Close() }()
			go func() {
				head := make([]byte, 8)
				if _, err := io.ReadFull(s, head); err != nil {
					return
				}
				rest := make([]byte, 4*int(binary.LittleEndian.Uint16(head[6:])))
				if _, err := io.ReadFull(s, rest); err != nil {
					return
				}
				_, _ = c.Write(append(head, rest...))
				_, _ = io.Copy(io.Discard, s) // the stall
			}()
		}
	}()
	return display, closed
}
