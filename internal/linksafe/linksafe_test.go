package linksafe

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

func TestOpenDir(t *testing.T) {
	testutil.NeedRoot(t)
	base := t.TempDir()
	victim := filepath.Join(base, "victim") // root's, only root's
	must(t, os.Mkdir(victim, 0o700))
	shared := filepath.Join(base, "shared") // the app user's
	must(t, os.Mkdir(shared, 0o755))
	must(t, os.Chown(shared, 65534, 65534))
	rootOnly := filepath.Join(base, "rootonly")
	must(t, os.Mkdir(rootOnly, 0o755))

	// A link the app user planted: owned by that user, in its own directory.
	must(t, os.Symlink(victim, filepath.Join(shared, "planted")))
	must(t, os.Lchown(filepath.Join(shared, "planted"), 65534, 65534))
	// A root-owned link in a directory the app user can write (it could have
	// renamed root's link there from elsewhere).
	open := filepath.Join(base, "open")
	must(t, os.Mkdir(open, 0o777))
	must(t, os.Chmod(open, 0o777))
	must(t, os.Symlink(victim, filepath.Join(open, "rootlink")))
	// A root-owned link in a root-only directory, relative: followed.
	must(t, os.Symlink("../victim", filepath.Join(rootOnly, "trusted")))
	must(t, os.WriteFile(filepath.Join(base, "file"), nil, 0o644))

	for _, c := range []struct {
		name, path string
		mkdir      bool
		want       string // the directory opened; "" when refused
		link       bool   // refused as a link
	}{
		{"a plain directory", shared, false, shared, false},
		{"missing components are made", filepath.Join(shared, "a", "b"), true, filepath.Join(shared, "a", "b"), false},
		{"a planted link", filepath.Join(shared, "planted"), false, "", true},
		{"a planted link on the way, with mkdir", filepath.Join(shared, "planted", "sub"), true, "", true},
		{"root's link in a directory others can write", filepath.Join(open, "rootlink", "sub"), true, "", true},
		{"root's link in root's directory", filepath.Join(rootOnly, "trusted"), false, victim, false},
		{"a file on the way", filepath.Join(base, "file", "x"), true, "", false},
		{"missing, without mkdir", filepath.Join(base, "missing"), false, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := OpenDir(c.path, c.mkdir, 0o755)
			if c.want == "" {
				if err == nil {
					f.Close()
					t.Fatalf("opened %s", c.path)
				}
				if errors.Is(err, ErrLink) != c.link {
					t.Errorf("error %v; a link refused: %v, want %v", err, errors.Is(err, ErrLink), c.link)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var got, want os.FileInfo
			got, _ = f.Stat()
			want, _ = os.Stat(c.want)
			if !os.SameFile(got, want) {
				t.Errorf("opened another directory than %s", c.want)
			}
		})
	}
	if ents, _ := os.ReadDir(victim); len(ents) != 0 {
		t.Errorf("something was made in the links' target: %v", ents)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
