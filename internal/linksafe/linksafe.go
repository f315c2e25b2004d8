package linksafe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// maxLinks bounds the trusted links followed on one path, as the kernel's
// ELOOP does.
const maxLinks = 40

// ErrLink is wrapped by the error for a link that was not followed.
var ErrLink = errors.New("a link that another user could have planted; not followed")

// OpenDir opens the directory path without following an untrusted link on any
// component (see the package comment). With mkdir, missing components are made
// with mode perm (less the umask), each relative to its opened parent.
func OpenDir(path string, mkdir bool, perm uint32) (*os.File, error) {
	if path == "" {
		return nil, errors.New("empty path")
	}
	start := "."
	if filepath.IsAbs(path) {
		start = "/"
	}
	fd, err := unix.Open(start, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", start, err)
	}
	rest := splitPath(path)
	links := 0
	walked := start
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		next, err := unix.Openat(fd, name, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) && mkdir {
			if err = unix.Mkdirat(fd, name, perm); err == nil || errors.Is(err, unix.EEXIST) {
				next, err = unix.Openat(fd, name, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			}
		}
		here := filepath.Join(walked, name)
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			target, lerr := trustedLink(fd, name)
			if lerr != nil {
				unix.Close(fd)
				return nil, fmt.Errorf("%s: %s: %w", path, here, lerr)
			}
			if links++; links > maxLinks {
				unix.Close(fd)
				return nil, fmt.Errorf("%s: too many links", path)
			}
			rest = append(splitPath(target), rest...)
			if filepath.IsAbs(target) {
				unix.Close(fd)
				if fd, err = unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
					return nil, err
				}
				walked = "/"
			}
			continue
		}
		unix.Close(fd)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, here, err)
		}
		fd, walked = next, here
	}
	return os.NewFile(uintptr(fd), path), nil
}

// trustedLink returns the target of the link name in dirfd when root owns both
// the link and the directory and no one else can write the directory; else an
// error (ErrLink for an untrusted link, ENOTDIR for what is neither a link nor
// a directory).
func trustedLink(dirfd int, name string) (string, error) {
	var st, dst unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return "", err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return "", fmt.Errorf("not a directory: %w", unix.ENOTDIR)
	}
	if err := unix.Fstat(dirfd, &dst); err != nil {
		return "", err
	}
	if st.Uid != 0 || dst.Uid != 0 || dst.Mode&0o022 != 0 {
		return "", ErrLink
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// splitPath is a path's components, without empty ones and ".".
func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}
