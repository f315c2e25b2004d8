package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Freezer is a cgroup v1 freezer group: its tasks stop in the kernel and not
// even SIGKILL ends them until they are thawed, which is what a process stuck in
// the kernel (a GPU hang, a dead NFS server) looks like to its parent.
type Freezer struct {
	t   testing.TB
	Dir string
}

// NewFreezer makes a freezer group that is thawed and removed at cleanup.
func NewFreezer(t testing.TB) *Freezer {
	t.Helper()
	NeedRoot(t)
	root := "/sys/fs/cgroup/freezer"
	if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil {
		missing(t, "no cgroup v1 freezer at "+root+" to make a process stuck in the kernel")
	}
	dir := filepath.Join(root, fmt.Sprintf("xinit-go-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := &Freezer{t: t, Dir: dir}
	t.Cleanup(func() {
		f.Thaw()
		// The thawed tasks die of the SIGKILLs waiting for them; the group can
		// go once they have.
		deadline := time.Now().Add(10 * time.Second)
		for os.Remove(dir) != nil && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	})
	return f
}

// Add moves a process into the group.
func (f *Freezer) Add(pid int) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.Dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		f.t.Fatalf("add %d to the freezer: %v", pid, err)
	}
}

// Freeze stops every task of the group and waits until the kernel says FROZEN.
func (f *Freezer) Freeze() {
	f.t.Helper()
	f.set("FROZEN")
	Eventually(f.t, 10*time.Second, "the freezer group to freeze", func() bool { return f.State() == "FROZEN" })
}

// Thaw lets the group's tasks run again.
func (f *Freezer) Thaw() { f.set("THAWED") }

// State is FROZEN, FREEZING or THAWED.
func (f *Freezer) State() string {
	b, _ := os.ReadFile(filepath.Join(f.Dir, "freezer.state"))
	return strings.TrimSpace(string(b))
}

func (f *Freezer) set(state string) {
	if err := os.WriteFile(filepath.Join(f.Dir, "freezer.state"), []byte(state), 0); err != nil {
		f.t.Errorf("freezer %s: %v", state, err)
	}
}
