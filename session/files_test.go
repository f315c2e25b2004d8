package session

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// target is a root-only file that a hostile app points links at.
func target(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(p, []byte("root's own\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func untouched(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "root's own\n" {
		t.Errorf("%s was written through a link: %q, %v", path, b, err)
	}
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 || st.Sys().(*syscall.Stat_t).Uid != uint32(os.Geteuid()) {
		t.Errorf("%s was chmod'ed or chown'ed through a link: %v uid %d", path, st.Mode(), st.Sys().(*syscall.Stat_t).Uid)
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode()
}

func TestRuntimeDirIsOnlyRoots(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED, NOT RUN: needs root to chown a directory to another user")
	}
	base := t.TempDir()
	mk := func(name string, perm os.FileMode, uid int) string {
		p := filepath.Join(base, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, perm); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sticky := mk("tmp", 0o777|os.ModeSticky, 0)
	users := mk("users", 0o700, 65534)
	group := mk("group", 0o770, 0)
	private := mk("private", 0o700, 0)
	system := mk("etc", 0o755, 0)
	if err := os.WriteFile(filepath.Join(system, "passwd"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ours := filepath.Join(base, "ours")
	if rt, err := openRuntimeDir(ours, false); err != nil {
		t.Fatal(err)
	} else {
		_ = rt.writeFile("xorg.conf", nil, 0o644)
		rt.close()
	}
	// Made by an earlier version: no marker, only xinit-go's own files.
	earlier := mk("earlier", 0o700, 0)
	for _, n := range []string{"client", "xorg.conf", "Xorg.0.log", "Xorg.0.log.old"} {
		if err := os.WriteFile(filepath.Join(earlier, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(private, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path       string
		searchable bool
		want       string // "" for accepted
	}{
		{sticky, false, "other users can write it (mode 1777)"},
		{users, false, "belongs to uid 65534"},
		{group, false, "other users can write it (mode 0770)"},
		{link, false, "a link or not a directory"},
		{private, true, "XINIT_APP_USER cannot pass through it"},
		{system, false, `holds other files ("passwd" among them)`},
		{private, false, ""},
		{ours, false, ""}, // made by xinit-go before: its files are no obstacle
		{earlier, false, ""},
		{filepath.Join(base, "new", "run"), false, ""},
		{filepath.Join(base, "new", "run-user"), true, ""},
	} {
		before := os.FileMode(0)
		if _, err := os.Lstat(tc.path); err == nil {
			before = mode(t, tc.path)
		}
		rt, err := openRuntimeDir(tc.path, tc.searchable)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.path, err)
				continue
			}
			rt.close()
		} else if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "XINIT_RUNTIME_DIR=") || !strings.Contains(err.Error(), "e.g.") {
			t.Errorf("%s: error %v, want one naming XINIT_RUNTIME_DIR that says %q with an example", tc.path, err, tc.want)
		}
		after := mode(t, tc.path)
		switch {
		case before != 0 && after != before:
			t.Errorf("%s: an existing directory was chmod'ed from %v to %v", tc.path, before, after)
		case before == 0 && tc.searchable && after.Perm() != 0o711, before == 0 && !tc.searchable && after.Perm() != 0o700:
			t.Errorf("%s: made with mode %v", tc.path, after)
		}
	}
}

// TestClientDirNeverFollowsLinks: the app's user left links (and a directory of
// links) in its client directory; the next start neither writes, chmods nor
// chowns their target, and gets fresh files of its own.
func TestClientDirNeverFollowsLinks(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED, NOT RUN: needs root to hand files to another user")
	}
	victim := target(t)
	rtPath := filepath.Join(t.TempDir(), "run")
	rt, err := openRuntimeDir(rtPath, true)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.close()
	nobody := &AppUser{Name: "nobody", Cred: &syscall.Credential{Uid: 65534, Gid: 65534}}
	files := []clientFile{{"Xauthority", []byte("cookie")}, {"vncpasswd", []byte("des")}}
	dir, err := rt.makeClientDir(files, nobody)
	if err != nil {
		t.Fatal(err)
	}
	// What the app can do to its own directory between two runs.
	for _, n := range []string{"Xauthority", "vncpasswd"} {
		_ = os.Remove(filepath.Join(dir, n))
	}
	for _, n := range []string{"Xauthority", "vncpasswd", "Xauthority.tmp"} {
		if err := os.Symlink(victim, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(victim), filepath.Join(dir, "sub", "up")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(victim), filepath.Join(dir, "dirlink")); err != nil {
		t.Fatal(err)
	}
	dir2, err := rt.makeClientDir(files, nobody)
	if err != nil {
		t.Fatal(err)
	}
	untouched(t, victim)
	ents, _ := os.ReadDir(dir2)
	if len(ents) != 2 {
		t.Errorf("the client directory holds %d entries, want the 2 new files", len(ents))
	}
	for _, cf := range files {
		p := filepath.Join(dir2, cf.name)
		st, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != 0o600 || st.Sys().(*syscall.Stat_t).Uid != 65534 {
			t.Errorf("%s: %v uid %d, want a 0600 file of nobody's", p, st.Mode(), st.Sys().(*syscall.Stat_t).Uid)
		}
		if b, _ := os.ReadFile(p); string(b) != string(cf.data) {
			t.Errorf("%s holds %q", p, b)
		}
	}
	if st, _ := os.Lstat(dir2); st.Mode() != os.ModeDir|0o700 || st.Sys().(*syscall.Stat_t).Uid != 65534 {
		t.Errorf("the client directory is %v uid %d", st.Mode(), st.Sys().(*syscall.Stat_t).Uid)
	}
	if ents, _ := os.ReadDir(rtPath); len(ents) != 2 {
		t.Errorf("the runtime directory holds %d entries, want only its marker and the client directory", len(ents))
	}
	if _, err := os.Stat(filepath.Dir(victim)); err != nil {
		t.Errorf("the directory a link pointed at was removed: %v", err)
	}
}

// TestWriteFileReplacesALinkNotItsTarget: a link at xorg.conf or at a temporary
// name is replaced, never written through.
func TestWriteFileReplacesALinkNotItsTarget(t *testing.T) {
	t.Parallel()
	victim := target(t)
	rt, err := openRuntimeDir(filepath.Join(t.TempDir(), "run"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.close()
	for _, n := range []string{"xorg.conf", "xorg.conf.tmp"} {
		if err := os.Symlink(victim, rt.join(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := rt.writeFile("xorg.conf", []byte("Section \"ServerFlags\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	untouched(t, victim)
	if m := mode(t, rt.join("xorg.conf")); m != 0o644 {
		t.Errorf("xorg.conf is %v, want a 0644 file", m)
	}
}
