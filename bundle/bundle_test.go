package bundle

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

type summary struct {
	Code    int               `json:"exit_code"`
	Files   []string          `json:"files"`
	Missing map[string]string `json:"missing,omitempty"`
}

func (s *summary) SetFiles(f []string, m map[string]string) { s.Files, s.Missing = f, m }

func TestWriteWholeBundle(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "shot.png")
	if err := os.WriteFile(src, []byte("png"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := Write(dir, "run-1", Bundle{
		Summary: &summary{Code: 3},
		Files:   []File{{Name: "screenshot.png", Path: src}, {Name: "video.mp4", Path: filepath.Join(dir, "absent.mp4")}},
		Blobs:   []Blob{{Name: "logs/x.log", Data: []byte("x\n")}, {Name: "status.json", Data: []byte("{}")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != filepath.Join(dir, "run-1") {
		t.Fatalf("path %s", res.Path)
	}
	for name, want := range map[string]string{"screenshot.png": "png", "logs/x.log": "x\n", "status.json": "{}"} {
		b, err := os.ReadFile(filepath.Join(res.Path, name))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q %v", name, b, err)
		}
	}
	var s summary
	b, _ := os.ReadFile(filepath.Join(res.Path, "summary.json"))
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Code != 3 || strings.Join(s.Files, ",") != "summary.json,screenshot.png,logs/x.log,status.json" || s.Missing["video.mp4"] == "" {
		t.Errorf("summary %+v", s)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("left in the artifacts directory: %v", ents)
	}
	// A second bundle of the same name gets a suffix, never replaces the first.
	res2, err := Write(dir, "run-1", Bundle{Summary: &summary{}})
	if err != nil || res2.Path != filepath.Join(dir, "run-1-2") {
		t.Fatalf("second: %v %v", res2.Path, err)
	}
}

func TestWriteAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	_, err := Write(dir, "run", Bundle{Summary: &summary{}, Blobs: []Blob{{Name: "a", Data: nil}, {Name: "a/b/c", Data: nil}}})
	if err == nil {
		t.Fatal("a bad name was written")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Fatalf("a half bundle was left: %v", ents)
	}
}

func TestSourcesAreNotFollowed(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(t.TempDir(), "secret")
	_ = os.WriteFile(secret, []byte("secret"), 0o600)
	link := filepath.Join(t.TempDir(), "shot.png")
	_ = os.Symlink(secret, link)
	linkedDir := filepath.Join(t.TempDir(), "d")
	_ = os.Symlink(filepath.Dir(secret), linkedDir)
	res, err := Write(dir, "run", Bundle{Summary: &summary{}, Files: []File{
		{Name: "screenshot.png", Path: link},
		{Name: "x.log", Path: filepath.Join(linkedDir, "secret")},
		{Name: "fifo", Path: "/dev/null"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Missing) != 3 || !strings.Contains(res.Missing["screenshot.png"], "link") ||
		!strings.Contains(res.Missing["x.log"], "link") || !strings.Contains(res.Missing["fifo"], "not a regular file") {
		t.Fatalf("missing %v", res.Missing)
	}
	if _, err := os.Stat(filepath.Join(res.Path, "screenshot.png")); err == nil {
		t.Fatal("a link was followed into the bundle")
	}
}

func TestOwnerAndForeignFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED, NOT RUN: needs root to chown")
	}
	dir := t.TempDir()
	foreign := filepath.Join(t.TempDir(), "foreign")
	_ = os.WriteFile(foreign, []byte("x"), 0o644)
	_ = os.Chown(foreign, 4242, 4242)
	mine := filepath.Join(t.TempDir(), "mine")
	_ = os.WriteFile(mine, []byte("y"), 0o644)
	_ = os.Chown(mine, 1234, 1234)
	res, err := Write(dir, "run", Bundle{Summary: &summary{}, Owner: &Owner{UID: 1234, GID: 1234},
		Files: []File{{Name: "foreign", Path: foreign}, {Name: "mine", Path: mine}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Missing["foreign"], "uid 4242") {
		t.Errorf("missing %v", res.Missing)
	}
	for _, n := range []string{"", "summary.json", "mine"} {
		st, err := os.Stat(filepath.Join(res.Path, n))
		if err != nil {
			t.Fatal(err)
		}
		if s := st.Sys().(*syscall.Stat_t); s.Uid != 1234 || s.Gid != 1234 {
			t.Errorf("%q owned by %d:%d", n, s.Uid, s.Gid)
		}
	}
}

// TestHardLinkedSourceIsRefused: the app user can make a hard link to a file it
// cannot read (without protected_hardlinks) at the screenshot's path; root must
// not copy that file into a bundle the user owns. A File marked Missing is
// listed with its reason and not copied.
func TestHardLinkedSourceIsRefused(t *testing.T) {
	src := t.TempDir()
	secret := filepath.Join(src, "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(src, "shot.png")
	if err := os.Link(secret, shot); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(src, "stale.png")
	if err := os.WriteFile(stale, []byte("png"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Write(t.TempDir(), "run", Bundle{Summary: &summary{}, Files: []File{
		{Name: "screenshot.png", Path: shot},
		{Name: "frozen-screen.png", Path: stale, Missing: "the screenshot failed"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Missing["screenshot.png"], "hard links") || res.Missing["frozen-screen.png"] != "the screenshot failed" {
		t.Fatalf("missing %v", res.Missing)
	}
	for _, n := range []string{"screenshot.png", "frozen-screen.png"} {
		if _, err := os.Stat(filepath.Join(res.Path, n)); err == nil {
			t.Errorf("%s was copied", n)
		}
	}
}

// TestArtifactsDirThroughALinkIsRefused: an artifacts directory reached through
// a link that the app user owns (planted in its own directory) is refused; no
// bundle appears in the link's target.
func TestArtifactsDirThroughALinkIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED, NOT RUN: needs root to chown")
	}
	victim := t.TempDir()
	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(shared, "artifacts")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{shared, link} {
		if err := os.Lchown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{link, filepath.Join(link, "bundles")} {
		if _, err := Write(dir, "run", Bundle{Summary: &summary{}}); err == nil || !strings.Contains(err.Error(), "link") {
			t.Errorf("%s: %v, want a refused link", dir, err)
		}
	}
	if ents, _ := os.ReadDir(victim); len(ents) != 0 {
		t.Errorf("written in the link's target: %v", ents)
	}
}

// TestBundleThatDoesNotFit: on a full artifacts directory what fits is written
// and what does not is listed as missing; when not even summary.json fits, the
// largest files make room for it. (Before: one file that did not fit lost the
// whole bundle.)
func TestBundleThatDoesNotFit(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED, NOT RUN: needs root to mount a small tmpfs")
	}
	mount := func(t *testing.T, size string) string {
		dir := t.TempDir()
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
		return dir
	}
	big := filepath.Join(t.TempDir(), "video.mp4")
	if err := os.WriteFile(big, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(t *testing.T, res Result) summary {
		var s summary
		b, err := os.ReadFile(filepath.Join(res.Path, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("a file too large", func(t *testing.T) {
		res, err := Write(mount(t, "256k"), "run", Bundle{Summary: &summary{Code: 3},
			Files: []File{{Name: "video.mp4", Path: big}},
			Blobs: []Blob{{Name: "logs/x.log", Data: []byte("x\n")}, {Name: "huge.json", Data: make([]byte, 512<<10)}}})
		if err != nil {
			t.Fatal(err)
		}
		s := read(t, res)
		if !strings.Contains(s.Missing["video.mp4"], "no space") || !strings.Contains(s.Missing["huge.json"], "no space") ||
			strings.Join(s.Files, ",") != "summary.json,logs/x.log" {
			t.Errorf("summary %+v", s)
		}
		for _, n := range []string{"video.mp4", "huge.json"} {
			if _, err := os.Stat(filepath.Join(res.Path, n)); err == nil {
				t.Errorf("a partial %s was left", n)
			}
		}
	})
	t.Run("no room for the summary", func(t *testing.T) {
		// 16 pages: the log takes them all, summary.json then needs one.
		res, err := Write(mount(t, "64k"), "run", Bundle{Summary: &summary{Code: 3},
			Blobs: []Blob{{Name: "small.log", Data: []byte("x\n")}, {Name: "big.log", Data: make([]byte, 60<<10)}}})
		if err != nil {
			t.Fatal(err)
		}
		s := read(t, res)
		if !strings.Contains(s.Missing["big.log"], "make room for summary.json") || strings.Join(s.Files, ",") != "summary.json,small.log" {
			t.Errorf("summary %+v", s)
		}
	})
}
