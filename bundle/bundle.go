package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/xinit-go/xinit-go/internal/linksafe"
)

// Owner is who the bundle belongs to: the app user. Nil keeps xinit-go's user.
type Owner struct{ UID, GID int }

// File is a file copied into the bundle.
type File struct {
	Name string // path inside the bundle, e.g. "screenshot.png"
	Path string // source
	// Missing, when set, says why there is no such file for this run: it is
	// listed in Result.Missing and nothing is copied.
	Missing string
}

// Blob is a file whose content the caller holds.
type Blob struct {
	Name string
	Data []byte
}

// Bundle is what Write puts in a bundle directory.
type Bundle struct {
	Summary any // written as summary.json
	Files   []File
	Blobs   []Blob
	Owner   *Owner
}

// Result says what Write did.
type Result struct {
	Path    string            // the bundle's directory
	Written []string          // names written, summary.json first
	Missing map[string]string // files that could not be copied, and why
}

// Write writes b into a new directory called name inside dir, which appears at
// once (renamed into place) or not at all. A file that cannot be copied, or
// does not fit (no space, a quota), is left out and named in Result.Missing;
// summary.json is written last, so the caller may list them (the Summary's
// SetFiles), and when it does not fit itself, the largest files written make
// room for it. Any other failure to write the directory is an error and leaves
// nothing behind.
func Write(dir, name string, b Bundle) (Result, error) {
	res := Result{Missing: map[string]string{}}
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return res, fmt.Errorf("bad bundle name %q", name)
	}
	// No link another user could have planted is followed on the way, and
	// everything below happens relative to the opened directory.
	df, err := linksafe.OpenDir(dir, true, 0o755)
	if err != nil {
		return res, fmt.Errorf("XINIT_ARTIFACTS=%q: %w", dir, err)
	}
	defer df.Close()
	dfd := int(df.Fd())

	tmpName, err := linksafe.MkdirTemp(dfd, ".bundle-")
	if err != nil {
		return res, fmt.Errorf("XINIT_ARTIFACTS=%q: %w", dir, err)
	}
	tfd, err := unix.Openat(dfd, tmpName, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = unix.Unlinkat(dfd, tmpName, unix.AT_REMOVEDIR)
		return res, fmt.Errorf("XINIT_ARTIFACTS=%q: %w", dir, err)
	}
	w := &writer{dfd: tfd, owner: b.Owner, sizes: map[string]int64{}}
	ok := false
	defer func() {
		unix.Close(tfd)
		if !ok {
			_ = linksafe.RemoveAllAt(dfd, tmpName)
		}
	}()

	// What does not fit (no space, a quota) is left out and listed in the
	// summary; the rest is written.
	for _, f := range b.Files {
		if f.Missing != "" {
			res.Missing[f.Name] = f.Missing
			continue
		}
		if err := w.copy(f); err != nil {
			switch {
			case full(err):
				w.remove(f.Name)
				res.Missing[f.Name] = noRoom
			case errors.Is(err, errWrite):
				return res, fmt.Errorf("XINIT_ARTIFACTS=%q: %w", dir, err)
			default:
				res.Missing[f.Name] = err.Error()
			}
			continue
		}
		res.Written = append(res.Written, f.Name)
	}
	for _, bl := range b.Blobs {
		if err := w.write(bl.Name, bl.Data); err != nil {
			if full(err) {
				w.remove(bl.Name)
				res.Missing[bl.Name] = noRoom
				continue
			}
			return res, fmt.Errorf("XINIT_ARTIFACTS=%q: %w", dir, err)
		}
		res.Written = append(res.Written, bl.Name)
	}
	// summary.json is the one file the bundle needs: while it does not fit,
	// the largest file written makes room for it.
	for {
		if s, ok := b.Summary.(interface {
			SetFiles([]string, map[string]string)
		}); ok {
			s.SetFiles(append([]string{"summary.json"}, res.Written...), res.Missing)
		}
		sum, err := json.MarshalIndent(b.Summary, "", "  ")
		if err != nil {
			return res, err
		}
		err = w.write("summary.json", append(sum, '\n'))
		if err == nil {
			break
		}
		w.remove("summary.json")
		big := w.largest(res.Written)
		if !full(err) || big < 0 {
			return res, fmt.Errorf("XINIT_ARTIFACTS=%q: %w", dir, err)
		}
		name := res.Written[big]
		w.remove(name)
		res.Missing[name] = "removed to make room for summary.json: " + noRoom
		res.Written = append(res.Written[:big], res.Written[big+1:]...)
	}
	res.Written = append([]string{"summary.json"}, res.Written...)
	for _, d := range w.dirs {
		if err := w.finishDir(d); err != nil {
			return res, fmt.Errorf("XINIT_ARTIFACTS=%q: %w", dir, err)
		}
	}
	if err := w.own(tfd, 0o755); err != nil {
		return res, fmt.Errorf("XINIT_ARTIFACTS=%q: %w", dir, err)
	}
	if err := unix.Fsync(tfd); err != nil {
		return res, fmt.Errorf("XINIT_ARTIFACTS=%q: fsync: %w", dir, err)
	}
	final := name
	for i := 2; ; i++ {
		err = unix.Renameat2(dfd, tmpName, dfd, final, unix.RENAME_NOREPLACE)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EEXIST) || i > 100 {
			return res, fmt.Errorf("XINIT_ARTIFACTS=%q: rename into place: %w", dir, err)
		}
		final = fmt.Sprintf("%s-%d", name, i)
	}
	ok = true
	_ = unix.Fsync(dfd)
	res.Path = path.Join(dir, final)
	return res, nil
}

// errWrite marks a failure to write into the bundle (as opposed to reading a source).
var errWrite = errors.New("write")

// noRoom is why a file that did not fit is missing.
const noRoom = "no space left in the artifacts directory"

// full reports a write that failed for want of space.
func full(err error) bool { return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) }

// remove removes a file of the bundle (a partial one, or one that must make
// room), never following a link.
func (w *writer) remove(name string) {
	_ = unix.Unlinkat(w.dfd, path.Clean(name), 0)
	delete(w.sizes, path.Clean(name))
}

// largest is the index in names of the largest file written, -1 for none.
func (w *writer) largest(names []string) int {
	best := -1
	for i, n := range names {
		if best < 0 || w.sizes[path.Clean(n)] > w.sizes[path.Clean(names[best])] {
			best = i
		}
	}
	return best
}

type writer struct {
	dfd   int
	owner *Owner
	dirs  []string
	sizes map[string]int64 // the files written, by clean name
}

// own hands an open file or directory to the owner with mode.
func (w *writer) own(fd int, mode uint32) error {
	if w.owner != nil {
		if err := unix.Fchown(fd, w.owner.UID, w.owner.GID); err != nil {
			return fmt.Errorf("%w: fchown: %w", errWrite, err)
		}
	}
	if err := unix.Fchmod(fd, mode); err != nil {
		return fmt.Errorf("%w: fchmod: %w", errWrite, err)
	}
	return nil
}

// create makes a new file in the bundle, and the directory it goes in.
func (w *writer) create(name string) (*os.File, error) {
	name = path.Clean(name)
	if path.IsAbs(name) || strings.HasPrefix(name, "..") {
		return nil, fmt.Errorf("%w: bad name %q", errWrite, name)
	}
	if d := path.Dir(name); d != "." {
		if strings.Contains(d, "/") {
			return nil, fmt.Errorf("%w: %q: one level of directories at most", errWrite, name)
		}
		err := unix.Mkdirat(w.dfd, d, 0o700)
		switch {
		case err == nil:
			w.dirs = append(w.dirs, d)
		case !errors.Is(err, unix.EEXIST):
			return nil, fmt.Errorf("%w: mkdir %s: %w", errWrite, d, err)
		}
	}
	fd, err := unix.Openat(w.dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: create %s: %w", errWrite, name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// finish owns, syncs and closes a file written into the bundle.
func (w *writer) finish(f *os.File) error {
	defer f.Close()
	if err := w.own(int(f.Fd()), 0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%w: fsync %s: %w", errWrite, f.Name(), err)
	}
	return f.Close()
}

func (w *writer) finishDir(d string) error {
	fd, err := unix.Openat(w.dfd, d, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", errWrite, d, err)
	}
	defer unix.Close(fd)
	if err := w.own(fd, 0o755); err != nil {
		return err
	}
	return unix.Fsync(fd)
}

func (w *writer) write(name string, data []byte) error {
	f, err := w.create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("%w: %s: %w", errWrite, name, err)
	}
	w.sizes[path.Clean(name)] = int64(len(data))
	return w.finish(f)
}

// copy copies a source file in; an error not marked errWrite is the source's.
func (w *writer) copy(f File) error {
	src, err := OpenSource(f.Path, w.owner)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := w.create(f.Name)
	if err != nil {
		return err
	}
	n, err := io.Copy(dst, src)
	if err != nil {
		dst.Close()
		return fmt.Errorf("%w: copy %s: %w", errWrite, f.Name, err)
	}
	w.sizes[path.Clean(f.Name)] = n
	return w.finish(dst)
}

// OpenSource opens a file to copy into a bundle without following any link on
// its path; it must be a regular file and, with an owner, belong to root or to
// the owner.
func OpenSource(p string, owner *Owner) (*os.File, error) {
	fd, err := unix.Openat2(unix.AT_FDCWD, p, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOSYS) {
		fd, err = unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("%s: a link on the way; not followed", p)
		}
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, err
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", p)
	case owner != nil && st.Uid != 0 && int(st.Uid) != owner.UID:
		f.Close()
		return nil, fmt.Errorf("%s: belongs to uid %d, neither root nor the app user", p, st.Uid)
	case st.Nlink > 1:
		// Another name for the same file may be one the app user made for a
		// file it cannot read (a hard link needs no right on the file).
		f.Close()
		return nil, fmt.Errorf("%s: has %d hard links; not copied", p, st.Nlink)
	}
	return f, nil
}
