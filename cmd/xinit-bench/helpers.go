package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// helper runs the stand-in apps the benchmarks start under each init.
func helper(name string, args []string) int {
	switch name {
	case "sleep":
		select {}
	case "trap": // FILE: write FILE, exit 0 on SIGTERM
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		_ = os.WriteFile(args[0], nil, 0o644)
		<-ch
		return 0
	case "mark": // FILE: write our pid to FILE, then sleep until killed
		_ = os.WriteFile(args[0], []byte(strconv.Itoa(os.Getpid())), 0o644)
		select {}
	case "orphans": // N: see orphans
		n, _ := strconv.Atoi(args[0])
		return orphans(n)
	}
	fmt.Fprintln(os.Stderr, "unknown helper", name)
	return 2
}

// orphans makes n orphans (small shells blocked reading a FIFO), wakes them all at
// once by closing the FIFO's write end, and prints the milliseconds until /proc
// holds only PID 1 and itself again: every orphan exited and was reaped.
func orphans(n int) int {
	dir, err := os.MkdirTemp("", "orphans-")
	if err != nil {
		return 1
	}
	defer os.RemoveAll(dir)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return 1
	}
	// The spawner backgrounds n readers and exits: they become PID 1's children.
	script := fmt.Sprintf("i=0; while [ $i -lt %d ]; do (read x < %s) & i=$((i+1)); done", n, fifo)
	if err := exec.Command("sh", "-c", script).Run(); err != nil {
		fmt.Fprintln(os.Stderr, "spawner:", err)
		return 1
	}
	// Wait until every reader is blocked on the FIFO (count stable at n + 2).
	for i := 0; i < 30000 && procs() < n+2; i++ {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		return 1
	}
	start := time.Now()
	w.Close()
	for procs() > 2 {
		if time.Since(start) > 60*time.Second {
			fmt.Fprintln(os.Stderr, "orphans were not reaped")
			return 1
		}
		time.Sleep(200 * time.Microsecond)
	}
	fmt.Printf("%.3f\n", float64(time.Since(start).Microseconds())/1000)
	// Stay a moment so that the peak memory of the init can be read.
	time.Sleep(100 * time.Millisecond)
	return 0
}

// procs counts the processes in this PID namespace, zombies included.
func procs() int {
	f, err := os.Open("/proc")
	if err != nil {
		return 0
	}
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	n := 0
	for _, name := range names {
		if name[0] >= '0' && name[0] <= '9' {
			n++
		}
	}
	return n
}
