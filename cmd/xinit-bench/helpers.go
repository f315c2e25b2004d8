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

	"github.com/xinit-go/xinit-go/internal/xpaint"
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
	case "paint": // RATE: fill the screen RATE times a second until killed
		rate, err := strconv.ParseFloat(args[0], 64)
		if err != nil || rate <= 0 {
			fmt.Fprintln(os.Stderr, "paint: want a rate above 0")
			return 2
		}
		return xpaint.Run(rate, 0)
	case "mark": // FILE: write our pid to FILE, then sleep until killed
		_ = os.WriteFile(args[0], []byte(strconv.Itoa(os.Getpid())), 0o644)
		select {}
	case "orphans": // N: see orphans
		n, _ := strconv.Atoi(args[0])
		return orphans(n)
	case "workload": // STOPFILE CODE LOOP ARGV...: see runWorkload
		if len(args) < 4 {
			fmt.Fprintln(os.Stderr, "workload: want STOPFILE CODE LOOP ARGV...")
			return 2
		}
		code, err := strconv.Atoi(args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "workload: CODE:", err)
			return 2
		}
		return runWorkload(args[0], code, args[2] == "1", args[3:])
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

// runWorkload is the density benchmark's app: it runs argv (again each time it
// exits, with loop) until stop exists, then ends it and exits with code, so that
// the session's exit code says whose app it was. A run that exits without loop,
// or fails, ends the helper with the run's own code; SIGTERM ends it with 143.
func runWorkload(stop string, code int, loop bool, argv []string) int {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	for {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "workload:", err)
			return 127
		}
		done := make(chan int, 1)
		go func() {
			_ = cmd.Wait()
			done <- cmd.ProcessState.ExitCode()
		}()
		end := func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-done
			}
		}
		tick := time.NewTicker(20 * time.Millisecond)
	wait:
		for {
			select {
			case rc := <-done:
				tick.Stop()
				if _, err := os.Stat(stop); err == nil {
					return code
				}
				if !loop || rc != 0 {
					return rc
				}
				break wait
			case <-term:
				tick.Stop()
				end()
				return 128 + int(syscall.SIGTERM)
			case <-tick.C:
				if _, err := os.Stat(stop); err == nil {
					tick.Stop()
					end()
					return code
				}
			}
		}
	}
}
