package procfs

import (
	"os"
	"reflect"
	"slices"
	"testing"
	"time"
)

var fixture = FS{Root: "testdata/proc"}

func TestStat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pid   int
		want  Stat
		dying bool
	}{
		{1, Stat{PID: 1, Comm: "xinit-go", State: 'S', PPID: 0, PGRP: 1, Flags: 4194560, StartTicks: 100}, false},
		// A name with spaces and parentheses: the fields start after the last ')'.
		{42, Stat{PID: 42, Comm: "my (odd) x11vnc", State: 'S', PPID: 1, PGRP: 42, Flags: 4194560, StartTicks: 24816}, false},
		{43, Stat{PID: 43, Comm: "Xvfb", State: 'Z', PPID: 1, PGRP: 43, Flags: 4194308, StartTicks: 25000}, true},
		{44, Stat{PID: 44, Comm: "sh", State: 'R', PPID: 42, PGRP: 42, Flags: 4194304, StartTicks: 26000}, false},
	} {
		got, err := fixture.Stat(tc.pid)
		if err != nil {
			t.Errorf("Stat(%d): %v", tc.pid, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Stat(%d) = %+v, want %+v", tc.pid, got, tc.want)
		}
		if got.Dying() != tc.dying {
			t.Errorf("Stat(%d).Dying() = %v", tc.pid, got.Dying())
		}
	}
	for _, tc := range []struct {
		fs  FS
		pid int
	}{{fixture, 999}, {FS{Root: "testdata/bad"}, 7}} {
		if _, err := tc.fs.Stat(tc.pid); err == nil {
			t.Errorf("%s: Stat(%d) gave no error", tc.fs.Root, tc.pid)
		}
	}
}

func TestChildren(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pid  int
		want []int
	}{{0, []int{1}}, {1, []int{42, 43}}, {42, []int{44}}, {44, nil}} {
		got, err := fixture.Children(tc.pid)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Children(%d) = %v, want %v", tc.pid, got, tc.want)
		}
	}
}

func TestCmdlineAndEnviron(t *testing.T) {
	t.Parallel()
	args, err := fixture.Cmdline(42)
	if want := []string{"x11vnc", "-display", ":0", "-rfbauth", "/run/xinit-go/client/vncpasswd"}; err != nil || !slices.Equal(args, want) {
		t.Errorf("Cmdline = %q, %v; want %q", args, err, want)
	}
	env, err := fixture.Environ(42)
	if want := []string{"PATH=/usr/bin", "DISPLAY=:0", "EMPTY="}; err != nil || !slices.Equal(env, want) {
		t.Errorf("Environ = %q, %v; want %q", env, err, want)
	}
	if _, err := fixture.Cmdline(999); err == nil {
		t.Error("Cmdline of a missing process gave no error")
	}
}

func TestBootTime(t *testing.T) {
	t.Parallel()
	bt, err := fixture.BootTime()
	if err != nil || !bt.Equal(time.Unix(1764400000, 0)) {
		t.Errorf("BootTime = %v, %v", bt, err)
	}
	if _, err := (FS{Root: "testdata/bad"}).BootTime(); err == nil {
		t.Error("no error without /proc/stat")
	}
}

func TestSysVShm(t *testing.T) {
	t.Parallel()
	got, err := fixture.SysVShm()
	if err != nil {
		t.Fatal(err)
	}
	want := []ShmSegment{
		{ID: 17, Perms: 0o1600, Size: 4194304, CPID: 42, LPID: 43, NAttch: 0, UID: 65534, GID: 65534, CUID: 65534, CGID: 65534,
			ATime: time.Unix(1764400100, 0), DTime: time.Unix(1764400200, 0), CTime: time.Unix(1764400050, 0)},
		{ID: 18, Perms: 0o600, Size: 65536, CPID: 44, LPID: 44, NAttch: 2,
			ATime: time.Unix(1764400300, 0), CTime: time.Unix(1764400290, 0)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SysVShm =\n%+v\nwant\n%+v", got, want)
	}
	if _, err := (FS{Root: "testdata/bad"}).SysVShm(); err == nil {
		t.Error("a malformed table gave no error")
	}
}

// TestTheRealProc reads this machine's /proc: the fixtures must not drift from
// what the kernel writes.
func TestTheRealProc(t *testing.T) {
	t.Parallel()
	st, err := Default.Stat(os.Getpid())
	if err != nil || st.PID != os.Getpid() || st.PPID != os.Getppid() || st.StartTicks == 0 {
		t.Errorf("Stat(self) = %+v, %v", st, err)
	}
	kids, err := Default.Children(os.Getppid())
	if err != nil || !slices.Contains(kids, os.Getpid()) {
		t.Errorf("Children(parent) = %v, %v; want it to hold %d", kids, err, os.Getpid())
	}
	if args, err := Default.Cmdline(os.Getpid()); err != nil || !slices.Equal(args, os.Args) {
		t.Errorf("Cmdline(self) = %q, %v; want %q", args, err, os.Args)
	}
	if bt, err := Default.BootTime(); err != nil || bt.After(time.Now()) || bt.Year() < 2000 {
		t.Errorf("BootTime = %v, %v", bt, err)
	}
	if _, err := Default.SysVShm(); err != nil {
		t.Errorf("SysVShm: %v", err)
	}
}
