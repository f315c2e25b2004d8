package linksafe

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// MkdirTemp makes a directory with a random name starting with prefix in
// dirfd, mode 0700, as os.MkdirTemp does but relative to an opened directory.
func MkdirTemp(dirfd int, prefix string) (string, error) {
	for range 100 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		name := prefix + hex.EncodeToString(b[:])
		err := unix.Mkdirat(dirfd, name, 0o700)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, unix.EEXIST) {
			return "", fmt.Errorf("make a temporary directory: %w", err)
		}
	}
	return "", errors.New("make a temporary directory: no free name")
}

// RemoveAllAt removes name inside dirfd and, when it is a directory, everything
// under it. It never follows a link: a link is removed, not its target.
func RemoveAllAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return err
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(fd), name)
	names, err := d.Readdirnames(-1)
	if err == io.EOF {
		err = nil
	}
	if err == nil {
		for _, n := range names {
			if err = RemoveAllAt(fd, n); err != nil {
				break
			}
		}
	}
	d.Close()
	if err != nil {
		return err
	}
	return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}

// ReadDirAt lists the directory name inside dirfd, opened without following a
// link, with each entry's lstat.
func ReadDirAt(dirfd int, name string) (map[string]unix.Stat_t, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil && err != io.EOF {
		return nil, err
	}
	out := make(map[string]unix.Stat_t, len(names))
	for _, n := range names {
		var st unix.Stat_t
		if unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			out[n] = st
		}
	}
	return out, nil
}
