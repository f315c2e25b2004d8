package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// FS is a proc file system mounted at Root.
type FS struct{ Root string }

// Default is the machine's own /proc.
var Default = FS{Root: "/proc"}

func (fs FS) path(parts ...string) string {
	return filepath.Join(append([]string{fs.Root}, parts...)...)
}

// Stat is what xinit-go uses of /proc/PID/stat.
type Stat struct {
	PID   int
	Comm  string // the command name, without the parentheses
	State byte   // R, S, D, Z, T, t, X, ...
	PPID  int
	PGRP  int
	Flags uint64 // PF_* flags of the task
	// StartTicks is the start time in clock ticks after boot (field 22).
	StartTicks uint64
}

// PFExiting is the PF_EXITING flag: the task is exiting.
const PFExiting = 0x4

// Dying reports a process that has exited or is exiting but is not reaped yet.
func (s Stat) Dying() bool {
	return s.State == 'Z' || s.State == 'X' || s.Flags&PFExiting != 0
}

// Stat reads /proc/PID/stat. The command name is in parentheses and may itself
// hold spaces and parentheses, so the fields after it are found from the last ')'.
func (fs FS) Stat(pid int) (Stat, error) {
	b, err := os.ReadFile(fs.path(strconv.Itoa(pid), "stat"))
	if err != nil {
		return Stat{}, err
	}
	return parseStat(b)
}

func parseStat(b []byte) (Stat, error) {
	open, closeIdx := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || closeIdx < open || closeIdx+2 >= len(b) {
		return Stat{}, fmt.Errorf("malformed stat line %q", b)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return Stat{}, fmt.Errorf("malformed stat line %q: pid: %v", b, err)
	}
	// f[0] is field 3 (state); field N is f[N-3].
	f := bytes.Fields(b[closeIdx+2:])
	if len(f) < 20 || len(f[0]) != 1 {
		return Stat{}, fmt.Errorf("malformed stat line %q: %d fields after the name", b, len(f))
	}
	s := Stat{PID: pid, Comm: string(b[open+1 : closeIdx]), State: f[0][0]}
	var errs []error
	num := func(field int) uint64 {
		v, err := strconv.ParseUint(string(f[field-3]), 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("field %d: %v", field, err))
		}
		return v
	}
	s.PPID = int(num(4))
	s.PGRP = int(num(5))
	s.Flags = num(9)
	s.StartTicks = num(22)
	if len(errs) > 0 {
		return Stat{}, fmt.Errorf("malformed stat line %q: %w", b, errors.Join(errs...))
	}
	return s, nil
}

// PIDs lists the processes the file system shows.
func (fs FS) PIDs() ([]int, error) {
	ents, err := os.ReadDir(fs.Root)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range ents {
		if p, err := strconv.Atoi(e.Name()); err == nil && p > 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

// Children lists the processes whose parent is pid and that are not yet reaped,
// by scanning every process's stat (/proc/PID/task/*/children needs
// CONFIG_PROC_CHILDREN, which not every kernel has).
func (fs FS) Children(pid int) ([]int, error) {
	pids, err := fs.PIDs()
	if err != nil {
		return nil, err
	}
	var out []int
	for _, p := range pids {
		if st, err := fs.Stat(p); err == nil && st.PPID == pid {
			out = append(out, p)
		}
	}
	return out, nil
}

// Cmdline reads a process's arguments.
func (fs FS) Cmdline(pid int) ([]string, error) { return fs.nulList(pid, "cmdline") }

// Environ reads a process's initial environment, as KEY=VALUE strings.
func (fs FS) Environ(pid int) ([]string, error) { return fs.nulList(pid, "environ") }

func (fs FS) nulList(pid int, name string) ([]string, error) {
	b, err := os.ReadFile(fs.path(strconv.Itoa(pid), name))
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return nil, nil
	}
	return strings.Split(string(b), "\x00"), nil
}

// BootTime reads the boot time (btime of /proc/stat).
func (fs FS) BootTime() (time.Time, error) {
	b, err := os.ReadFile(fs.path("stat"))
	if err != nil {
		return time.Time{}, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("btime %q: %v", v, err)
			}
			return time.Unix(sec, 0), nil
		}
	}
	return time.Time{}, errors.New("no btime line in " + fs.path("stat"))
}

// ShmSegment is one line of /proc/sysvipc/shm.
type ShmSegment struct {
	Key    int64
	ID     int
	Perms  uint32
	Size   uint64
	CPID   int // the creator
	LPID   int // the last to attach or detach
	NAttch int
	UID    int
	GID    int
	CUID   int // the creator's user
	CGID   int
	ATime  time.Time // last attach
	DTime  time.Time // last detach
	CTime  time.Time // creation or last IPC_SET
}

// SysVShm reads /proc/sysvipc/shm. The columns are found by the header's names,
// so kernels that add columns (rss, swap) read the same.
func (fs FS) SysVShm() ([]ShmSegment, error) {
	b, err := os.ReadFile(fs.path("sysvipc", "shm"))
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(b), "\n")
	col := map[string]int{}
	for i, name := range strings.Fields(lines[0]) {
		col[name] = i
	}
	for _, name := range []string{"key", "shmid", "perms", "size", "cpid", "lpid", "nattch", "uid", "gid", "cuid", "cgid", "atime", "dtime", "ctime"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("%s: no %s column in the header %q", fs.path("sysvipc", "shm"), name, lines[0])
		}
	}
	var out []ShmSegment
	for n, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < len(col) {
			return nil, fmt.Errorf("%s line %d: %d fields, want %d", fs.path("sysvipc", "shm"), n+2, len(f), len(col))
		}
		var errs []error
		num := func(name string) int64 {
			v, err := strconv.ParseInt(f[col[name]], 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", name, err))
			}
			return v
		}
		unix := func(name string) time.Time {
			if v := num(name); v != 0 {
				return time.Unix(v, 0)
			}
			return time.Time{}
		}
		perms, err := strconv.ParseUint(f[col["perms"]], 8, 32)
		if err != nil {
			errs = append(errs, fmt.Errorf("perms: %v", err))
		}
		size, err := strconv.ParseUint(f[col["size"]], 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("size: %v", err))
		}
		seg := ShmSegment{
			Key: num("key"), ID: int(num("shmid")), Perms: uint32(perms), Size: size,
			CPID: int(num("cpid")), LPID: int(num("lpid")), NAttch: int(num("nattch")),
			UID: int(num("uid")), GID: int(num("gid")), CUID: int(num("cuid")), CGID: int(num("cgid")),
			ATime: unix("atime"), DTime: unix("dtime"), CTime: unix("ctime"),
		}
		if len(errs) > 0 {
			return nil, fmt.Errorf("%s line %d: %w", fs.path("sysvipc", "shm"), n+2, errors.Join(errs...))
		}
		out = append(out, seg)
	}
	return out, nil
}
