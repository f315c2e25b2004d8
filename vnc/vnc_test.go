package vnc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

func TestVNCArgsListen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		listen, auth string
		want         string
		not          string
	}{
		{"", "", "-localhost -nopw", "-listen"},
		{"", "/run/pw", "-rfbauth /run/pw", "-noipv6"},
		{"localhost", "/run/pw", "-localhost -rfbauth", "-listen6"},
		// An IPv4 address: no IPv6 socket on [::].
		{"127.0.0.1", "/run/pw", "-listen 127.0.0.1 -noipv6 -rfbauth /run/pw", ""},
		{"10.1.2.3", "/run/pw", "-listen 10.1.2.3 -noipv6", ""},
		{"0.0.0.0", "/run/pw", "-listen 0.0.0.0 -noipv6", ""},
		{"::1", "/run/pw", "-listen6 ::1 -noipv4", "-noipv6"},
		{"::", "/run/pw", "-listen6 ::", "-noipv"},
	} {
		got := strings.Join(args(0, 5900, tc.listen, tc.auth), " ")
		if !strings.Contains(got, tc.want) || (tc.not != "" && strings.Contains(got, tc.not)) {
			t.Errorf("listen %q, auth %q: %s; want %q and not %q", tc.listen, tc.auth, got, tc.want, tc.not)
		}
	}
}

func TestWeakVNCPassword(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pw   string
		weak bool
	}{
		// The README's own examples.
		{"passpass", true},
		{"imagetest", true},
		{"8chars!!", true},
		{"s3cretpw", true},
		{"s3cret12", true},
		{"password", true},
		{"Password1", true},
		{"letmein!", true},
		{"12345678", true},
		{"aaaaaaaa", true},
		{"abab1212", true},
		{"abc", true},
		{"vnc", true},
		// Only the first 8 count: a strong tail does not help.
		{"passpassXk9#mQ2v", true},
		{"xK9#mQ2v", false},
		{"Tz8!pLq4", false},
		{"hunqe7zr", false},
		{"fj3k-29x", false},
	} {
		why := weakPassword(tc.pw)
		if (why != "") != tc.weak {
			t.Errorf("weakPassword(%q) = %q, want weak=%v", tc.pw, why, tc.weak)
		}
		if strings.Contains(why, tc.pw) {
			t.Errorf("the reason %q shows the password", why)
		}
	}
}

// TestRFBAuthMatchesX11vnc compares our password file with x11vnc -storepasswd's.
func TestRFBAuthMatchesX11vnc(t *testing.T) {
	testutil.Need(t, "x11vnc")
	for _, pw := range []string{"passpass", "s3cr", "longer-than-eight"} {
		ours := filepath.Join(t.TempDir(), "ours")
		theirs := filepath.Join(t.TempDir(), "theirs")
		if err := WriteRFBAuth(ours, pw); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("x11vnc", "-storepasswd", pw, theirs).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		a, _ := os.ReadFile(ours)
		b, _ := os.ReadFile(theirs)
		if string(a) != string(b) {
			t.Errorf("%q: ours %x, x11vnc's %x", pw, a, b)
		}
	}
}

// TestAddr: without a password, or with a single address, VNC is reported
// where readiness connects; with a password on every interface, as that.
func TestAddr(t *testing.T) {
	for _, c := range []struct {
		listen, auth, want string
	}{
		{"", "", "127.0.0.1:5900"},
		{"", "/run/x/client/vncpasswd", "0.0.0.0:5900"},
		{"::", "/run/x/client/vncpasswd", "[::]:5900"},
		{"localhost", "/run/x/client/vncpasswd", "127.0.0.1:5900"},
		{"10.0.0.5", "/run/x/client/vncpasswd", "10.0.0.5:5900"},
	} {
		if got := (Options{Port: 5900, Listen: c.listen, AuthFile: c.auth}).Addr(); got != c.want {
			t.Errorf("listen %q auth %q: %s, want %s", c.listen, c.auth, got, c.want)
		}
	}
}
