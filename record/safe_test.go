package record

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// TestWriteNewNeverFollowsALink: the segments' directory belongs to the app user,
// who may plant a link at list.txt; root's write replaces the link and leaves its
// target alone, and hands the new file over by descriptor.
func TestWriteNewNeverFollowsALink(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	target := filepath.Join(other, "root-only")
	if err := os.WriteFile(target, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "list.txt")); err != nil {
		t.Fatal(err)
	}
	var c *syscall.Credential
	if os.Geteuid() == 0 {
		c = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	df, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer df.Close()
	dfd := int(df.Fd())
	if err := writeNew(dfd, dir, "list.txt", []byte("file 'a'\n"), c); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "secret" {
		t.Fatalf("the link's target was written: %q", b)
	}
	st, err := os.Lstat(filepath.Join(dir, "list.txt"))
	if err != nil || !st.Mode().IsRegular() {
		t.Fatalf("list.txt: %v %v", st, err)
	}
	if c != nil && st.Sys().(*syscall.Stat_t).Uid != 65534 {
		t.Fatalf("list.txt belongs to uid %d", st.Sys().(*syscall.Stat_t).Uid)
	}
	// A link in place of the segments' directory is refused.
	if err := os.Symlink(other, filepath.Join(dir, "seg")); err != nil {
		t.Fatal(err)
	}
	if err := chownOwnDir(dfd, "seg", &syscall.Credential{}); err == nil {
		t.Fatal("chowned through a link to a directory")
	}
}

// TestOldSegmentsAreCleanedAtStart: killed runs leave their segments'
// directories; a new recorder removes all but the newest (the last killed
// run's window), leaves one written to a moment ago alone (a live recorder's),
// removes a link of that name without following it, and makes its own.
// (Before: they piled up, one per killed run.)
func TestOldSegmentsAreCleanedAtStart(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	keep := filepath.Join(other, "keep")
	if err := os.WriteFile(keep, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour)
	for i, name := range []string{".xinit-record-a", ".xinit-record-b", ".xinit-record-c"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(p, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		seg := filepath.Join(p, "seg000.mp4")
		if err := os.WriteFile(seg, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Duration(i) * time.Minute)
		for _, q := range []string{seg, filepath.Join(p, "sub"), p} {
			if err := os.Chtimes(q, at, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A live recorder's directory (another container's on a shared volume): an
	// old directory whose segment was written a moment ago.
	live := filepath.Join(dir, ".xinit-record-live")
	if err := os.Mkdir(live, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(live, "seg003.mp4"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(live, base, base); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, filepath.Join(dir, ".xinit-record-link")); err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{Path: filepath.Join(dir, "run.mp4"), Last: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var left []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if len(left) != 3 || !slices.Contains(left, ".xinit-record-c") || !slices.Contains(left, ".xinit-record-live") ||
		!slices.Contains(left, filepath.Base(r.SegmentsDir())) {
		t.Errorf("left %v, want .xinit-record-c, .xinit-record-live and the new %s", left, r.SegmentsDir())
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the link's target was emptied: %v", err)
	}
}
