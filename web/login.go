package web

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/xinit-go/xinit-go/internal/netguard"
	"io"
	"slices"
)

// RFB security types the bridge relays: the ones x11vnc offers.
const (
	secNone = 1
	secVNC  = 2
)

// maxReason bounds a failure reason the server sends.
const maxReason = 4096

// loginOutcome is what the relayed login came to.
type loginOutcome = netguard.Outcome

const (
	loginOK     = netguard.LoginOK
	loginFailed = netguard.LoginFailed // VNC said the password was wrong
	loginBroken = netguard.LoginBroken // ended before a result: closed, timed out, or not RFB
)

// relayLogin relays RFB's handshake between the browser and VNC, from the
// version exchange to the security result (RFB 3.3, 3.7 and 3.8; the security
// types None and VNC authentication), so that the bridge knows when the login
// is over and whether the password was right. The caller bounds it in time;
// after loginOK the rest of the stream is copied as it is.
func relayLogin(browser, vnc io.ReadWriter) (loginOutcome, error) {
	relay := func(from io.Reader, to io.Writer, n int, what string) ([]byte, error) {
		b := make([]byte, n)
		if _, err := io.ReadFull(from, b); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if _, err := to.Write(b); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return b, nil
	}
	reason := func(minor int) error {
		b, err := relay(vnc, browser, 4, "failure reason")
		if err != nil {
			return err
		}
		n := binary.BigEndian.Uint32(b)
		if n > maxReason {
			return fmt.Errorf("failure reason of %d bytes", n)
		}
		_, err = relay(vnc, browser, int(n), "failure reason")
		return err
	}
	if _, err := relay(vnc, browser, 12, "VNC's version"); err != nil {
		return loginBroken, err
	}
	cv, err := relay(browser, vnc, 12, "the viewer's version")
	if err != nil {
		return loginBroken, err
	}
	var minor int
	switch string(cv) {
	case "RFB 003.003\n":
		minor = 3
	case "RFB 003.007\n":
		minor = 7
	case "RFB 003.008\n":
		minor = 8
	default:
		return loginBroken, fmt.Errorf("the viewer speaks %q, not RFB 3.3, 3.7 or 3.8", cv)
	}
	var chosen byte
	if minor >= 7 {
		n, err := relay(vnc, browser, 1, "security types")
		if err != nil {
			return loginBroken, err
		}
		if n[0] == 0 {
			return loginBroken, errors.Join(errors.New("VNC refused the connection"), reason(minor))
		}
		types, err := relay(vnc, browser, int(n[0]), "security types")
		if err != nil {
			return loginBroken, err
		}
		c := make([]byte, 1)
		if _, err := io.ReadFull(browser, c); err != nil {
			return loginBroken, fmt.Errorf("security type: %w", err)
		}
		if !slices.Contains(types, c[0]) || (c[0] != secNone && c[0] != secVNC) {
			return loginBroken, fmt.Errorf("the viewer chose security type %d of %v", c[0], types)
		}
		if _, err := vnc.Write(c); err != nil {
			return loginBroken, err
		}
		chosen = c[0]
	} else {
		t, err := relay(vnc, browser, 4, "security type")
		if err != nil {
			return loginBroken, err
		}
		switch v := binary.BigEndian.Uint32(t); v {
		case 0:
			return loginBroken, errors.Join(errors.New("VNC refused the connection"), reason(minor))
		case secNone, secVNC:
			chosen = byte(v)
		default:
			return loginBroken, fmt.Errorf("VNC chose security type %d", v)
		}
	}
	if chosen == secVNC {
		if _, err := relay(vnc, browser, 16, "the challenge"); err != nil {
			return loginBroken, err
		}
		if _, err := relay(browser, vnc, 16, "the answer"); err != nil {
			return loginBroken, err
		}
	} else if minor < 8 {
		return loginOK, nil // no result for None before 3.8
	}
	r, err := relay(vnc, browser, 4, "the security result")
	if err != nil {
		return loginBroken, err
	}
	if binary.BigEndian.Uint32(r) != 0 {
		if minor == 8 {
			_ = reason(minor) // for the viewer to show; the outcome is known
		}
		return loginFailed, nil
	}
	return loginOK, nil
}
