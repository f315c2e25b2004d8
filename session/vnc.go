package session

import (
	"context"
	"crypto/des"
	"fmt"
	"math/bits"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xinit-go/xinit-go/supervisor"
)

// vncFixedKey is the key every VNC implementation uses to obfuscate stored
// passwords (it is obfuscation, not secrecy: the file must stay 0600).
var vncFixedKey = [8]byte{23, 82, 107, 6, 35, 78, 88, 7}

// EncryptVNCPassword returns the 8 bytes x11vnc -storepasswd writes: the first 8
// characters of the password, zero-padded, DES-encrypted with the fixed key. VNC's
// DES takes key bits in the opposite order from the standard, hence the reversal.
func EncryptVNCPassword(password string) []byte {
	var key [8]byte
	for i, b := range vncFixedKey {
		key[i] = bits.Reverse8(b)
	}
	block, err := des.NewCipher(key[:])
	if err != nil {
		panic(err) // a fixed 8-byte key cannot be rejected
	}
	var plain [8]byte
	copy(plain[:], password)
	out := make([]byte, 8)
	block.Encrypt(out, plain[:])
	return out
}

// WriteRFBAuth writes a new password file with mode 0600, for a VNC client; it
// never replaces a file or writes through a link.
func WriteRFBAuth(path, password string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(EncryptVNCPassword(password)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// rfbProbe is ready when addr accepts a connection and greets with an RFB banner,
// so a port held by some other program does not pass for ours.
func rfbProbe(addr string) supervisor.Readiness {
	return func() (*supervisor.Probe, error) {
		return &supervisor.Probe{Wait: func(ctx context.Context) error {
			var last error
			start := time.Now()
			for {
				if err := RFBBanner(ctx, addr); err == nil {
					return nil
				} else {
					last = err
				}
				// x11vnc usually answers within a few hundred milliseconds: poll
				// closely at first, then gently.
				wait := 5 * time.Millisecond
				if time.Since(start) > 2*time.Second {
					wait = 50 * time.Millisecond
				}
				select {
				case <-ctx.Done():
					if last != nil && ctx.Err() == context.Canceled {
						return ctx.Err()
					}
					return fmt.Errorf("VNC port %s: %v", addr, last)
				case <-time.After(wait):
				}
			}
		}}, nil
	}
}

// RFBBanner connects to addr and reads the server's protocol version.
func RFBBanner(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 12)
	if _, err := readFull(c, buf); err != nil {
		return fmt.Errorf("no RFB banner: %w", err)
	}
	if !strings.HasPrefix(string(buf), "RFB ") {
		return fmt.Errorf("not a VNC server: it says %q", buf)
	}
	return nil
}

func readFull(c net.Conn, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// vncArgs builds x11vnc's command line. The password is never on it: only the
// path of the rfbauth file.
func vncArgs(display, port int, listen, authFile string) []string {
	args := []string{"x11vnc",
		"-display", fmt.Sprintf(":%d", display),
		"-rfbport", strconv.Itoa(port),
		// LibVNCServer, under x11vnc, listens on [::]:5900 by itself, whatever
		// -rfbport, -listen and -noipv6 say; x11vnc makes its own IPv6 socket.
		"-rfbportv6", "-1",
		"-forever", "-shared",
		// Stability: XDAMAGE makes x11vnc crash on XIO errors more often; polling
		// the framebuffer is cheap on a virtual display.
		"-noxdamage", "-noxrecord", "-nowf", "-noscr",
		"-norc", "-quiet", "-nolookup", "-nobell",
	}
	switch {
	case authFile == "":
		args = append(args, "-localhost", "-nopw")
	case listen == "localhost":
		args = append(args, "-localhost", "-rfbauth", authFile)
	case listen == "::":
		// Every interface, IPv6 and IPv4.
		args = append(args, "-listen6", listen, "-rfbauth", authFile)
	case isIPv6(listen):
		// -listen takes IPv4 only; -listen6 with -noipv4 listens on this address alone.
		args = append(args, "-listen6", listen, "-noipv4", "-rfbauth", authFile)
	case listen != "":
		// -listen binds IPv4 only; x11vnc's IPv6 socket would still listen on
		// every interface ([::]) unless IPv6 is off.
		args = append(args, "-listen", listen, "-noipv6", "-rfbauth", authFile)
	default:
		args = append(args, "-rfbauth", authFile)
	}
	return args
}

func isIPv6(addr string) bool {
	ip := net.ParseIP(addr)
	return ip != nil && ip.To4() == nil
}

// probeAddr is where readiness connects for a listen setting.
func probeAddr(listen string, port int) string {
	host := "127.0.0.1"
	if listen != "" && listen != "localhost" && listen != "0.0.0.0" && listen != "::" {
		host = listen
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}
