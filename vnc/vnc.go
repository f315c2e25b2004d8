package vnc

import (
	"cmp"
	"context"
	"crypto/des"
	"fmt"
	"math/bits"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/xinit-go/xinit-go/supervisor"
)

// vncFixedKey is the key every VNC implementation uses to obfuscate stored
// passwords (it is obfuscation, not secrecy: the file must stay 0600).
var vncFixedKey = [8]byte{23, 82, 107, 6, 35, 78, 88, 7}

// EncryptPassword returns the 8 bytes x11vnc -storepasswd writes: the first 8
// characters of the password, zero-padded, DES-encrypted with the fixed key. VNC's
// DES takes key bits in the opposite order from the standard, hence the reversal.
func EncryptPassword(password string) []byte {
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
	if _, err := f.Write(EncryptPassword(password)); err != nil {
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

// args builds x11vnc's command line. The password is never on it: only the
// path of the rfbauth file.
func args(display, port int, listen, authFile string) []string {
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

// Options are what x11vnc's spec needs of the session.
type Options struct {
	Display  int
	Port     int
	Listen   string // XINIT_VNC_LISTEN: "" for every interface
	Password string // only judged here (its length, its strength); never on a command line
	AuthFile string // the rfbauth file holding it, "" without a password
	UID      int    // x11vnc's user, whose shared memory is swept
	Log      *zap.Logger
}

// Spec is x11vnc as a service: its command line, readiness on an RFB banner,
// the sweep of the shared memory it leaves, and its output. The caller names
// it and gives its user, environment, role and restarts. It warns of a long or
// weak password, and of none (then VNC listens on localhost only).
func Spec(o Options) supervisor.Spec {
	if o.Password != "" {
		if len(o.Password) > 8 {
			o.Log.Warn("the VNC password is longer than 8 characters; VNC uses only the first 8", zap.Int("length", len(o.Password)))
		}
		if why := weakPassword(o.Password); why != "" {
			o.Log.Warn("the VNC password is weak: "+why+"; whoever reaches VNC or the browser view can guess it. Use 8 random characters, e.g. head -c 6 /dev/urandom | base64",
				zap.String("why", why))
		}
	} else {
		o.Log.Warn(fmt.Sprintf("no VNC password: VNC listens on 127.0.0.1:%d only; reach it with kubectl port-forward or an ssh tunnel, or set VNC_PASSWORD (or XINIT_VNC_PASSWORD_FILE) to listen on every interface", o.Port))
	}
	shm := newShmSweeper(o.UID, o.Log)
	return supervisor.Spec{
		Argv:         args(o.Display, o.Port, o.Listen, o.AuthFile),
		ReadyTimeout: 20 * time.Second,
		Ready:        rfbProbe(probeAddr(o.Listen, o.Port)),
		// The X server may still hold x11vnc's segments for a moment after it died:
		// what the exit leaves is retried before the next start.
		Exited: func(pid int) { shm.exited(pid, time.Now()) },
		PreStart: func(context.Context) error {
			shm.starting(time.Now())
			return nil
		},
		Output: output(o.Log),
	}
}

// Addr is where VNC listens, as the session reports it: the address readiness
// connects to, or every interface's when a password lets it listen there.
func (o Options) Addr() string {
	if o.AuthFile != "" && (o.Listen == "" || o.Listen == "0.0.0.0" || o.Listen == "::") {
		return net.JoinHostPort(cmp.Or(o.Listen, "0.0.0.0"), strconv.Itoa(o.Port))
	}
	return probeAddr(o.Listen, o.Port)
}
