package xserver

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/xinit-go/xinit-go/internal/testutil"
	"github.com/xinit-go/xinit-go/xscreen"
)

func TestClearStaleLock(t *testing.T) {
	// A display no X server of this machine uses: clearStaleLock also asks the
	// display's abstract socket, which every X server on the machine shares.
	n := testutil.FreeDisplay(t)
	dir := t.TempDir()
	lock := filepath.Join(dir, fmt.Sprintf(".X%d-lock", n))
	sockDir := filepath.Join(dir, "sock")
	_ = os.MkdirAll(sockDir, 0o755)
	sock := filepath.Join(sockDir, fmt.Sprintf("X%d", n))
	_ = os.WriteFile(sock, nil, 0o644)
	_ = os.WriteFile(lock, []byte("   4194001\n"), 0o444)
	if err := clearStaleLock(dir, sockDir, n); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(lock); err == nil {
		t.Error("stale lock kept")
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("stale socket kept")
	}
}

// TestClearStaleLockKeepsALiveSocket: no lock file, but something answers on the
// socket: it is in use, and the socket stays.
func TestClearStaleLockKeepsALiveSocket(t *testing.T) {
	dir := t.TempDir()
	sockDir := filepath.Join(dir, "sock")
	_ = os.MkdirAll(sockDir, 0o755)
	sock := filepath.Join(sockDir, "X78")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = clearStaleLock(dir, sockDir, 78)
	if err == nil || !strings.Contains(err.Error(), "display :78 is in use") {
		t.Errorf("error %v, want display :78 is in use", err)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("the live socket was removed: %v", err)
	}
}

// TestSpecArgv: Xvfb gets the screen, Xorg its configuration and log and never
// a virtual terminal; both report readiness on fd 3, take the authority file
// and listen on no TCP port, and the user's arguments come last.
func TestSpecArgv(t *testing.T) {
	base := Options{Display: xscreen.Display{Num: 7}, Resolution: "1280x720x24", Width: 1280, Height: 720,
		Authority: "/run/x/Xauthority", Args: []string{"-verbose", "3"}, Log: zaptest.NewLogger(t)}
	xorg := base
	xorg.XorgConf, xorg.XorgLog = "/run/x/xorg.conf", "/run/x/Xorg.7.log"
	common := []string{"-displayfd", "3", "-auth", "/run/x/Xauthority", "-nolisten", "tcp", "-noreset", "-s", "0", "-dpms", "-verbose", "3"}
	for _, c := range []struct {
		o    Options
		head []string
	}{
		{base, []string{"Xvfb", ":7", "-screen", "0", "1280x720x24", "+extension", "GLX", "+extension", "RANDR"}},
		{xorg, []string{"Xorg", ":7", "-config", "/run/x/xorg.conf", "-logfile", "/run/x/Xorg.7.log", "-novtswitch", "-sharevts", "-keeptty"}},
	} {
		sp := Spec(c.o)
		if want := append(append([]string(nil), c.head...), common...); !slices.Equal(sp.Argv, want) {
			t.Errorf("argv %q, want %q", sp.Argv, want)
		}
		if sp.Ready == nil || sp.PreStart == nil || sp.Output == nil {
			t.Errorf("%s: no readiness, pre-start or output", c.head[0])
		}
	}
}

// TestAuthority: one FamilyWild entry for the display with a 16-byte cookie.
func TestAuthority(t *testing.T) {
	file, cookie, err := Authority(12)
	if err != nil {
		t.Fatal(err)
	}
	if len(cookie) != 16 {
		t.Fatalf("cookie of %d bytes", len(cookie))
	}
	want := append([]byte{0xff, 0xff, 0, 0, 0, 2, '1', '2', 0, 18}, "MIT-MAGIC-COOKIE-1"...)
	want = append(append(want, 0, 16), cookie...)
	if !bytes.Equal(file, want) {
		t.Errorf("file %x, want %x", file, want)
	}
}
