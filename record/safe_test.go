package record

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
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
