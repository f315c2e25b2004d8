package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// What a session costs the machine, read from /proc: CPU time by process class
// and proportional memory. A session is the xinit-go process under unshare and
// everything below it.

// Process classes of a session.
const (
	classInit  = "xinit-go"
	classX     = "X server"
	classApp   = "app"
	classVNC   = "x11vnc"
	classOther = "other" // the GL probe and anything else xinit-go starts
)

var classes = []string{classInit, classX, classApp, classVNC, classOther}

// procEntry is what the benchmark reads of /proc/PID/stat.
type procEntry struct {
	pid, ppid int
	comm      string
	// self is utime+stime; reaped is cutime+cstime: the children it has waited for.
	self, reaped int64
}

// parseProcStat reads the fields of a /proc/PID/stat line that procEntry holds.
// The command name is in parentheses and may hold both, so the fields after it
// are found from the last ')'.
func parseProcStat(b []byte) (procEntry, bool) {
	open, closeIdx := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || closeIdx < open || closeIdx+2 >= len(b) {
		return procEntry{}, false
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return procEntry{}, false
	}
	// f[0] is field 3 (state); field N is f[N-3].
	f := strings.Fields(string(b[closeIdx+2:]))
	if len(f) < 15 {
		return procEntry{}, false
	}
	num := func(field int) int64 {
		n, _ := strconv.ParseInt(f[field-3], 10, 64)
		return n
	}
	return procEntry{pid: pid, ppid: int(num(4)), comm: string(b[open+1 : closeIdx]),
		self: num(14) + num(15), reaped: num(16) + num(17)}, true
}

// procTable is every process of the machine at one moment, by pid, and the
// children of each.
type procTable struct {
	procs    map[int]procEntry
	children map[int][]int
}

func readProcTable(root string) procTable {
	t := procTable{procs: map[int]procEntry{}, children: map[int][]int{}}
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, e.Name(), "stat"))
		if err != nil {
			continue
		}
		if p, ok := parseProcStat(b); ok {
			t.procs[p.pid] = p
			t.children[p.ppid] = append(t.children[p.ppid], p.pid)
		}
	}
	return t
}

// subtree lists pid and every process below it.
func (t procTable) subtree(pid int) []int {
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, t.children[out[i]]...)
	}
	return out
}

// sessionCPU is a session's CPU time between two readings, in clock ticks by
// class. A service's time is its processes' own plus that of the children they
// reaped, so an app's run that began and ended between the readings is counted
// through its parent. A service that started between the readings counts whole;
// one that ended between them is left out (its parent, xinit-go, reaped it, and
// xinit-go's own figure is only its own time).
func sessionCPU(before, after procTable, init int, classify func(procEntry) string) map[string]int64 {
	out := map[string]int64{}
	p1, ok := after.procs[init]
	if !ok {
		return out
	}
	out[classInit] = p1.self - before.procs[init].self
	sum := func(t procTable, pid int) int64 {
		var n int64
		for _, q := range t.subtree(pid) {
			n += t.procs[q].self + t.procs[q].reaped
		}
		return n
	}
	for _, c := range after.children[init] {
		d := sum(after, c)
		if b, ok := before.procs[c]; ok && b.ppid == init && b.comm == after.procs[c].comm {
			// A grandchild that outlived its parent went to xinit-go: its time
			// before the first reading can make the difference negative.
			if d -= sum(before, c); d < 0 {
				d = 0
			}
		}
		out[classify(after.procs[c])] += d
	}
	return out
}

// classifier tells a session's services apart: the X server and x11vnc by
// name, the app by its argv (the benchmark's workload helper).
func classifier(root string) func(procEntry) string {
	return func(p procEntry) string {
		switch p.comm {
		case "Xvfb", "Xorg":
			return classX
		case "x11vnc":
			return classVNC
		}
		args, _ := os.ReadFile(filepath.Join(root, strconv.Itoa(p.pid), "cmdline"))
		if bytes.Contains(args, []byte("\x00helper\x00workload\x00")) {
			return classApp
		}
		return classOther
	}
}

// pssKB is a process's proportional share of resident memory (shared pages
// divided among the processes that map them), in kB.
func pssKB(root string, pid int) int {
	data, _ := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "smaps_rollup"))
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "Pss:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// hostCPU reads the machine's busy and total jiffies from /proc/stat.
func hostCPU(root string) (busy, total int64) {
	data, _ := os.ReadFile(filepath.Join(root, "stat"))
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		if i >= 8 { // guest time is already in user time
			break
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// memUsedKB is MemTotal less MemAvailable: what the machine cannot hand out
// without swapping.
func memUsedKB(root string) int64 {
	data, _ := os.ReadFile(filepath.Join(root, "meminfo"))
	var total, avail int64
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "MemTotal:":
			total = n
		case "MemAvailable:":
			avail = n
		}
	}
	return total - avail
}
