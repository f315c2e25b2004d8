package xserver

import (
	"os"
	"path/filepath"
	"testing"
)

// TestStickySocketDirNeverFollowsALink: a link planted where the X socket
// directory belongs (in /tmp, everyone's) does not make root chmod its target.
func TestStickySocketDirNeverFollowsALink(t *testing.T) {
	base := t.TempDir()
	target := filepath.Join(base, "private")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, ".X11-unix")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	stickySocketDir(link)
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o700 || st.Mode()&os.ModeSticky != 0 {
		t.Fatalf("the link's target became %v", st.Mode())
	}
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	stickySocketDir(real)
	if st, _ := os.Stat(real); st.Mode().Perm() != 0o777 || st.Mode()&os.ModeSticky == 0 {
		t.Fatalf("the socket directory is %v, want 1777", st.Mode())
	}
}
