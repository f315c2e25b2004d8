package main

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

// These tests attack the browser view and VNC over the network, with the real
// binary as PID 1, real x11vnc and Chromium.

// TestVNCListenOnIPv4StaysThere: XINIT_VNC_LISTEN=127.0.0.1 keeps x11vnc off
// IPv6's [::] and keeps the browser view (XINIT_WEB_ADDR without a host) on
// 127.0.0.1 too.
func TestVNCListenOnIPv4StaysThere(t *testing.T) {
	s, url := webSession(t, []string{"VNC_PASSWORD=xK9#mQ2v", "XINIT_VNC_LISTEN=127.0.0.1"})
	webPort := strings.TrimSuffix(url[strings.LastIndex(url, ":")+1:], "/")
	for what, port := range map[string]string{"VNC": strconv.Itoa(s.vncPort), "the browser view": webPort} {
		got := listeners(t, port)
		if len(got) == 0 {
			t.Errorf("nothing listens on %s's port %s", what, port)
		}
		for _, a := range got {
			if a != "127.0.0.1" {
				t.Errorf("%s listens on %s port %s with XINIT_VNC_LISTEN=127.0.0.1; want 127.0.0.1 only", what, a, port)
			}
		}
	}
	s.p.Signal(syscall.SIGTERM)
	s.p.Wait(30 * time.Second)
}

// TestDNSRebindingInChromium: the default session (no password, view on
// localhost). A page at a name that the browser resolves to 127.0.0.1 (an
// attacker's DNS answer) gets 421 and no viewer; a name the user listed in
// XINIT_WEB_HOSTS gets the view.
func TestDNSRebindingInChromium(t *testing.T) {
	s, url := webSession(t, []string{"XINIT_WEB_HOSTS=view.example.test"})
	port := strings.TrimSuffix(url[strings.LastIndex(url, ":")+1:], "/")
	ctx := browser(t, chromedp.Flag("host-resolver-rules", "MAP rebound.attacker.test 127.0.0.1, MAP view.example.test 127.0.0.1"))

	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("http://rebound.attacker.test:%s/", port))); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "not one of this server's names") {
		t.Errorf("the rebound page shows %q", text)
	}
	// Give a page that did load the time to open the bridge.
	time.Sleep(2 * time.Second)
	if strings.Contains(s.p.Stderr.String(), "browser viewer connected") {
		t.Fatal("a page at a rebound name got a viewer")
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("http://view.example.test:%s/", port))); err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, "connected", 30*time.Second)
	testutil.Eventually(t, 5*time.Second, "the log to show the viewer", func() bool {
		return strings.Contains(s.p.Stderr.String(), "browser viewer connected")
	})
	s.p.Signal(syscall.SIGTERM)
	s.p.Wait(30 * time.Second)
}
