package session

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// xauthority makes the contents of an Xauthority file with one MIT-MAGIC-COOKIE-1 for the
// display, for any host (FamilyWild): the X server reads it with -auth, clients
// with XAUTHORITY. Without it any process that can reach the display's socket,
// another container of the pod through the abstract socket among them, could draw
// on the screen and read it.
func xauthority(display int) ([]byte, error) {
	cookie := make([]byte, 16)
	if _, err := rand.Read(cookie); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	field := func(v []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint16(len(v)))
		b.Write(v)
	}
	_ = binary.Write(&b, binary.BigEndian, uint16(0xffff)) // FamilyWild
	field(nil)
	field([]byte(strconv.Itoa(display)))
	field([]byte("MIT-MAGIC-COOKIE-1"))
	field(cookie)
	return b.Bytes(), nil
}

// AppUser is the unprivileged user the app and x11vnc run as.
type AppUser struct {
	Name string
	Home string
	Cred *syscall.Credential
}

// lookupUser resolves XINIT_APP_USER: a name, or UID[:GID].
func lookupUser(spec string) (*AppUser, error) {
	name, gidText, hasGID := strings.Cut(spec, ":")
	var u *user.User
	var err error
	if _, nerr := strconv.Atoi(name); nerr == nil {
		u, err = user.LookupId(name)
		if err != nil {
			// A bare UID with no passwd entry is allowed, as in Kubernetes.
			u = &user.User{Uid: name, Gid: name, Username: name, HomeDir: "/"}
			err = nil
		}
	} else {
		u, err = user.Lookup(name)
	}
	if err != nil {
		return nil, fmt.Errorf("XINIT_APP_USER=%q: %v; give a user of the image, or UID[:GID], e.g. XINIT_APP_USER=1000:1000", spec, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if hasGID {
		g, err := strconv.ParseUint(gidText, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("XINIT_APP_USER=%q: the group must be a number, e.g. XINIT_APP_USER=1000:1000", spec)
		}
		gid = g
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil && uint32(g) != cred.Gid {
				cred.Groups = append(cred.Groups, uint32(g))
			}
		}
	}
	return &AppUser{Name: u.Username, Home: u.HomeDir, Cred: cred}, nil
}

// readCookie finds the MIT-MAGIC-COOKIE-1 for a local display in an Xauthority
// file (an entry for any host, or for this one).
func readCookie(path string, display int) ([]byte, error) {
	if path == "" {
		return nil, errors.New("XAUTHORITY is not set")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	num := strconv.Itoa(display)
	for len(b) >= 2 {
		family := binary.BigEndian.Uint16(b)
		b = b[2:]
		var fields [4][]byte
		for i := range fields {
			if len(b) < 2 || len(b) < 2+int(binary.BigEndian.Uint16(b)) {
				return nil, fmt.Errorf("%s: truncated entry", path)
			}
			n := int(binary.BigEndian.Uint16(b))
			fields[i], b = b[2:2+n], b[2+n:]
		}
		addr, disp, name, data := fields[0], fields[1], fields[2], fields[3]
		const familyLocal, familyWild = 256, 0xffff
		if (family == familyWild || family == familyLocal && string(addr) == host) &&
			(len(disp) == 0 || string(disp) == num) && string(name) == "MIT-MAGIC-COOKIE-1" && len(data) == 16 {
			return data, nil
		}
	}
	return nil, fmt.Errorf("%s: no cookie for display :%d", path, display)
}

// authConn carries the cookie in the connection setup that xgb writes. xgb
// finds a cookie by the display's number, which it does not know for a
// connection it did not dial (NewConnNet), so it sends a setup without one:
// the first write is replaced with the same setup and the cookie.
type authConn struct {
	net.Conn
	cookie []byte
	sent   bool
}

func (a *authConn) Write(p []byte) (int, error) {
	if a.sent || a.cookie == nil {
		return a.Conn.Write(p)
	}
	a.sent = true
	// byte-order, unused, major(2), minor(2), name length(2), data length(2), unused(2)
	if len(p) != 12 || binary.LittleEndian.Uint16(p[6:]) != 0 || binary.LittleEndian.Uint16(p[8:]) != 0 {
		return a.Conn.Write(p)
	}
	const name = "MIT-MAGIC-COOKIE-1"
	pad := func(n int) int { return (n + 3) &^ 3 }
	req := make([]byte, 12+pad(len(name))+pad(len(a.cookie)))
	copy(req, p[:6])
	binary.LittleEndian.PutUint16(req[6:], uint16(len(name)))
	binary.LittleEndian.PutUint16(req[8:], uint16(len(a.cookie)))
	copy(req[12:], name)
	copy(req[12+pad(len(name)):], a.cookie)
	if _, err := a.Conn.Write(req); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ownIdentity sets HOME, USER and LOGNAME in env to those of the user xinit-go
// runs as.
func ownIdentity(env []string) []string {
	uid := strconv.Itoa(os.Geteuid())
	name, home := uid, "/"
	if u, err := user.LookupId(uid); err == nil {
		name, home = u.Username, u.HomeDir
	} else if uid == "0" {
		name, home = "root", "/root"
	}
	env = setEnv(env, "HOME", home)
	env = setEnv(env, "USER", name)
	return setEnv(env, "LOGNAME", name)
}
