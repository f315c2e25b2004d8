package session

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

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
