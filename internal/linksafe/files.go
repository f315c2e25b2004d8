package linksafe

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// WriteFileAt writes name in the directory dirfd atomically: a new temporary
// file (O_EXCL|O_NOFOLLOW) with exactly mode, then renamed over name relative
// to the directory, so a link planted at name is replaced, never followed.
func WriteFileAt(dirfd int, name string, data []byte, mode uint32) error {
	tmp := "." + name + "." + RandomName() + ".tmp"
	f, err := CreateAt(dirfd, tmp, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		_ = unix.Unlinkat(dirfd, tmp, 0)
		return err
	}
	if err := f.Close(); err != nil {
		_ = unix.Unlinkat(dirfd, tmp, 0)
		return err
	}
	if err := unix.Renameat(dirfd, tmp, dirfd, name); err != nil {
		_ = unix.Unlinkat(dirfd, tmp, 0)
		return err
	}
	return nil
}

// CreateAt creates a new file (never an existing one, never through a link) with
// exactly mode, whatever the umask.
func CreateAt(dirfd int, name string, mode uint32) (*os.File, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	if err := unix.Fchmod(fd, mode); err != nil {
		f.Close()
		_ = unix.Unlinkat(dirfd, name, 0)
		return nil, fmt.Errorf("chmod %s: %w", name, err)
	}
	return f, nil
}

func RandomName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
