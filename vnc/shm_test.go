package vnc

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xinit-go/xinit-go/internal/procfs"
)

// fakeProc writes a proc tree with the given live pids and shared memory lines
// (shmid cpid nattch cuid ctime).
func fakeProc(t *testing.T, live []int, segs [][5]int64) procfs.FS {
	t.Helper()
	root := t.TempDir()
	for _, pid := range live {
		dir := filepath.Join(root, fmt.Sprint(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%d (sh) S 1 %d 1 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n", pid, pid)
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	b.WriteString("       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n")
	for _, s := range segs {
		fmt.Fprintf(&b, "0 %d 1600 4096 %d %d %d %d %d %d %d 0 0 %d 4096 0\n", s[0], s[1], s[1], s[2], s[3], s[3], s[3], s[3], s[4])
	}
	if err := os.MkdirAll(filepath.Join(root, "sysvipc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "sysvipc", "shm"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return procfs.FS{Root: root}
}

// TestShmSweepIsExact: only the segments of the dead x11vnc are removed, never
// one of another process that has the same pid now, or one made by another user or
// at another time, or one still attached.
func TestShmSweepIsExact(t *testing.T) {
	t.Parallel()
	const pid, uid = 4242, 65534
	start := time.Unix(1764400000, 500e6)
	end := start.Add(time.Minute)
	in := start.Add(10 * time.Second).Unix()
	for _, tc := range []struct {
		name    string
		live    []int
		seg     [5]int64 // shmid cpid nattch cuid ctime
		removed bool
		kept    bool // the dead process stays on the list for a later sweep
	}{
		{"its orphan", nil, [5]int64{1, pid, 0, uid, in}, true, false},
		{"made in the second it started", nil, [5]int64{1, pid, 0, uid, start.Unix()}, true, false},
		{"still attached (the X server has it)", nil, [5]int64{1, pid, 1, uid, in}, false, true},
		{"the pid is alive again: a new process's", []int{pid}, [5]int64{1, pid, 0, uid, in}, false, true},
		{"another user's", nil, [5]int64{1, pid, 0, 0, in}, false, false},
		{"made after it died", nil, [5]int64{1, pid, 0, uid, end.Unix() + 1}, false, false},
		{"made before it started", nil, [5]int64{1, pid, 0, uid, start.Unix() - 1}, false, false},
		{"another pid's", nil, [5]int64{1, pid + 1, 0, uid, in}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var gone []int
			s := &shmSweeper{fs: fakeProc(t, tc.live, [][5]int64{tc.seg}), uid: uid, log: zaptest.NewLogger(t),
				rmid: func(id int) error { gone = append(gone, id); return nil }}
			s.starting(start)
			s.exited(pid, end)
			if got := slices.Contains(gone, int(tc.seg[0])); got != tc.removed {
				t.Errorf("removed = %v, want %v", got, tc.removed)
			}
			if got := len(s.dead) == 1; got != tc.kept {
				t.Errorf("kept for later = %v, want %v (%+v)", got, tc.kept, s.dead)
			}
		})
	}
}
