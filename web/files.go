package web

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
)

// noLinkFS serves regular files from an os.Root: a name that is, or passes
// through, a symbolic link is refused, as are directories, so the web root
// cannot hand out anything but the files in it, whoever can write there.
type noLinkFS struct{ root *os.Root }

var errNotServed = errors.New("not a regular file")

func (f noLinkFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	// Every component must be a plain directory or, at the end, a regular file.
	parts := strings.Split(name, "/")
	for i := range parts {
		p := path.Join(parts[:i+1]...)
		fi, err := f.root.Lstat(p)
		if err != nil {
			return nil, err
		}
		last := i == len(parts)-1
		if fi.Mode()&fs.ModeSymlink != 0 || (!last && !fi.IsDir()) || (last && !fi.Mode().IsRegular() && name != ".") {
			return nil, &fs.PathError{Op: "open", Path: name, Err: errNotServed}
		}
	}
	file, err := f.root.OpenFile(name, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return nil, err
	}
	fi, err := file.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: errNotServed}
	}
	return file, nil
}

// fileHandler serves the web root's files; anything that is not a regular file
// answers 404 (so no directory listing and no link is ever served), and so does
// any name with a component that starts with a dot (.git, .htpasswd, .env).
// Browsers revalidate every file (no-cache), so an upgraded noVNC is picked up.
func fileHandler(root *os.Root) http.Handler {
	fsys := noLinkFS{root}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" || hidden(name) {
			http.NotFound(w, r)
			return
		}
		f, err := fsys.Open(name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, fi.Name(), fi.ModTime(), f.(*os.File))
	})
}

// hidden reports a name with a component that starts with a dot.
func hidden(name string) bool {
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return true
		}
	}
	return false
}
