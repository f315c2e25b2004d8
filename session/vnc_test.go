package session

import (
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/xinit-go/xinit-go/gpu"
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
		got := strings.Join(vncArgs(0, 5900, tc.listen, tc.auth), " ")
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
		why := weakVNCPassword(tc.pw)
		if (why != "") != tc.weak {
			t.Errorf("weakVNCPassword(%q) = %q, want weak=%v", tc.pw, why, tc.weak)
		}
		if strings.Contains(why, tc.pw) {
			t.Errorf("the reason %q shows the password", why)
		}
	}
}

// TestWeakPasswordWarning: a weak password is said at start, and the password
// itself is not.
func TestWeakPasswordWarning(t *testing.T) {
	for _, tc := range []struct {
		pw   string
		warn bool
	}{{"passpass", true}, {"xK9#mQ2v", false}} {
		c := cfg(t, "XINIT_BACKEND=xvfb", "VNC_PASSWORD="+tc.pw)
		e := env(fakeGPU{err: gpu.ErrNoGPU}, t.TempDir(), false, "PATH=/usr/bin")
		p, err := Decide(c, e)
		if err != nil {
			t.Fatal(err)
		}
		core, logs := observer.New(zapcore.WarnLevel)
		if _, err := Build(c, p, e, zap.New(core)); err != nil {
			t.Fatal(err)
		}
		weak := logs.FilterMessageSnippet("VNC password is weak")
		if (weak.Len() > 0) != tc.warn {
			t.Errorf("password %q: %d weak warnings, want %v", tc.pw, weak.Len(), tc.warn)
		}
		for _, e := range logs.All() {
			if strings.Contains(e.Message, tc.pw) || strings.Contains(fmt.Sprint(e.ContextMap()), tc.pw) {
				t.Errorf("the log shows the password: %s %v", e.Message, e.ContextMap())
			}
		}
	}
}
