package session

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/xinit-go/xinit-go/internal/linksafe"
)

// xinit-go is root and the app may not be. Root never follows a link or trusts
// a name in a directory that another user can write:
//
//   - The runtime directory (XINIT_RUNTIME_DIR) is one that only root can write:
//     made here when it does not exist, or an existing one that root owns, that
//     neither its group nor others can write, and that is empty or marked as made
//     by xinit-go. A directory that fails the check (/tmp, /, /etc, the app's home)
//     is refused, never chmod'ed.
//   - Every name inside it is used relative to its opened descriptor, and files are
//     created with O_EXCL|O_NOFOLLOW, written, then fchmod'ed on the open file and
//     renamed into place (renameat): a link planted at the name cannot redirect a
//     write, a chmod or a chown.
//   - The client directory, which the app's user owns, is never reused: each start
//     renames the old one aside and removes it with a walk that never follows a
//     link, then makes a new one whose files are written while it still belongs to
//     root, and hands it (the directory and its files, by descriptor) to the user
//     last.

// runtimeDir is the opened runtime directory.
type runtimeDir struct {
	path string
	f    *os.File
}

// runtimeDirExample is the example in the runtime directory's error messages.
const runtimeDirExample = "e.g. XINIT_RUNTIME_DIR=/run/xinit-go"

// openRuntimeDir opens (making it when missing) the runtime directory. searchable
// makes a new directory 0711 instead of 0700, for an app user that must pass
// through it to reach its own client directory; an existing one must allow that.
func openRuntimeDir(path string, searchable bool) (*runtimeDir, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("XINIT_RUNTIME_DIR=%q: %s; name a directory that does not exist yet (xinit-go makes it) or one that only root can write, %s",
			path, fmt.Sprintf(format, a...), runtimeDirExample)
	}
	mode := uint32(0o700)
	if searchable {
		mode = 0o711
	}
	made := false
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, bad("%v", err)
	}
	if err := unix.Mkdir(path, mode); err == nil {
		made = true
	} else if !errors.Is(err, unix.EEXIST) {
		return nil, bad("cannot make it: %v", err)
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return nil, bad("it is a link or not a directory")
		}
		return nil, bad("%v", err)
	}
	rt := &runtimeDir{path: path, f: os.NewFile(uintptr(fd), path)}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		rt.close()
		return nil, bad("%v", err)
	}
	perm := st.Mode & 0o7777
	switch {
	case int(st.Uid) != os.Geteuid():
		rt.close()
		return nil, bad("it belongs to uid %d, not to xinit-go's uid %d", st.Uid, os.Geteuid())
	case perm&0o022 != 0:
		rt.close()
		return nil, bad("other users can write it (mode %04o)", perm)
	case made:
		// Only a directory made here is chmod'ed: the umask may have narrowed it.
		if err := unix.Fchmod(fd, mode); err != nil {
			rt.close()
			return nil, bad("%v", err)
		}
	case searchable && perm&0o001 == 0:
		rt.close()
		return nil, bad("XINIT_APP_USER cannot pass through it (mode %04o); give it mode 0711 or remove it so that xinit-go makes it", perm)
	}
	// A directory xinit-go made carries a marker; an existing one without it is
	// adopted only when it holds nothing but what xinit-go writes, so that / or /etc
	// never becomes a runtime directory (xorg.conf and the client directory would
	// land among the system's files).
	if err := unix.Faccessat(fd, runtimeMarker, unix.F_OK, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		names, err := readDirNames(fd)
		if err != nil {
			rt.close()
			return nil, bad("%v", err)
		}
		for _, n := range names {
			if !ownName(n) {
				rt.close()
				return nil, bad("it holds other files (%q among them) and xinit-go did not make it (no %s in it)", n, runtimeMarker)
			}
		}
		f, err := linksafe.CreateAt(fd, runtimeMarker, 0o600)
		if err != nil {
			rt.close()
			return nil, bad("%v", err)
		}
		f.Close()
	}
	return rt, nil
}

// runtimeMarker marks a runtime directory that xinit-go made or adopted.
const runtimeMarker = ".xinit-go"

// ownName reports a name that xinit-go writes in its runtime directory, so that a
// directory an earlier version made (without the marker) is adopted.
func ownName(n string) bool {
	switch {
	case n == clientDirName, n == "xorg.conf", n == ".write-test":
		return true
	case strings.HasPrefix(n, "Xorg."), strings.HasPrefix(n, ".client.old-"), strings.HasPrefix(n, ".xorg.conf."):
		return true
	}
	return false
}

func (rt *runtimeDir) close() { rt.f.Close() }

func (rt *runtimeDir) fd() int { return int(rt.f.Fd()) }

// join is the path of a name inside the directory, for the programs that take one.
func (rt *runtimeDir) join(name string) string { return filepath.Join(rt.path, name) }

// writeFile writes name atomically: a new temporary file (O_EXCL|O_NOFOLLOW),
// fchmod'ed, then renamed over name relative to the directory.
func (rt *runtimeDir) writeFile(name string, data []byte, mode uint32) error {
	return linksafe.WriteFileAt(rt.fd(), name, data, mode)
}

// clientFile is a file of the client directory.
type clientFile struct {
	name string
	data []byte
}

// clientDirName is the directory for what clients read (the X authority and VNC
// password files), inside the runtime directory.
const clientDirName = "client"

// makeClientDir replaces the client directory with a new one holding files (0600)
// and hands it to u (nil: it stays root's). It returns the directory's path.
func (rt *runtimeDir) makeClientDir(files []clientFile, u *AppUser) (string, error) {
	if err := rt.removeOldClientDirs(); err != nil {
		return "", err
	}
	if err := unix.Mkdirat(rt.fd(), clientDirName, 0o700); err != nil {
		return "", fmt.Errorf("make %s: %w", rt.join(clientDirName), err)
	}
	fd, err := unix.Openat(rt.fd(), clientDirName, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", rt.join(clientDirName), err)
	}
	defer unix.Close(fd)
	if err := unix.Fchmod(fd, 0o700); err != nil {
		return "", err
	}
	for _, cf := range files {
		f, err := linksafe.CreateAt(fd, cf.name, 0o600)
		if err != nil {
			return "", err
		}
		_, err = f.Write(cf.data)
		if err == nil && u != nil {
			err = f.Chown(int(u.Cred.Uid), int(u.Cred.Gid))
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("write %s: %w", filepath.Join(rt.join(clientDirName), cf.name), err)
		}
	}
	if u != nil {
		if err := unix.Fchown(fd, int(u.Cred.Uid), int(u.Cred.Gid)); err != nil {
			return "", fmt.Errorf("hand %s to XINIT_APP_USER: %w", rt.join(clientDirName), err)
		}
	}
	return rt.join(clientDirName), nil
}

// removeOldClientDirs renames the last run's client directory aside and removes
// it, with any left aside by a run that died while removing one.
func (rt *runtimeDir) removeOldClientDirs() error {
	const aside = ".client.old-"
	err := unix.Renameat(rt.fd(), clientDirName, rt.fd(), aside+linksafe.RandomName())
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("move the old %s aside: %w", rt.join(clientDirName), err)
	}
	names, err := readDirNames(rt.fd())
	if err != nil {
		return fmt.Errorf("read %s: %w", rt.path, err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, aside) {
			if err := linksafe.RemoveAllAt(rt.fd(), n); err != nil {
				return fmt.Errorf("remove the old client directory %s: %w", rt.join(n), err)
			}
		}
	}
	return nil
}

// readDirNames lists a directory by descriptor, from its start, without closing it.
func readDirNames(dirfd int) ([]string, error) {
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), ".")
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err == io.EOF {
		err = nil
	}
	return names, err
}
