package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xinit-go/xinit-go/internal/xpaint"
)

// HelperEnv names the stand-in program to run instead of the tests.
const HelperEnv = "XINIT_TEST_HELPER"

// HelperArgv is the argv that runs stand-in program name with args.
func HelperArgv(name string, args ...string) []string {
	if _, ok := standIns[name]; !ok {
		panic("testutil: no stand-in program " + name)
	}
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return append([]string{exe, "-test.run=^$", "--", name}, args...)
}

// HelperEnviron is the environment entry that turns the test binary into a helper.
func HelperEnviron() string { return HelperEnv + "=1" }

// RunHelperIfAsked runs a stand-in program and exits when the environment asks for
// one; call it first in TestMain.
func RunHelperIfAsked() {
	if os.Getenv(HelperEnv) == "" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "helper: no name")
		os.Exit(2)
	}
	os.Exit(helper(args[0], args[1:]))
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

// standIn is a stand-in program: what its arguments are, and what it does.
type standIn struct {
	args string
	run  func(args []string) int
}

// standIns is the one table of stand-in programs, as os/exec's tests have: the
// test binary runs one when HelperArgv asks for it. HelperArgv refuses a name
// that is not here, and TestEveryStandInIsUsed fails when one here is used by no
// test.
var standIns map[string]standIn

func init() {
	standIns = map[string]standIn{
		"exit": {"CODE: exit with CODE", func(args []string) int {
			return atoi(args[0])
		}},
		"sleep": {"block until killed (SIGTERM's default action kills it)", func(args []string) int {
			select {}
		}},
		"trap": {"CODE FILE: write FILE when ready; on SIGTERM exit CODE; log other signals to FILE.sig", func(args []string) int {
			code, file := atoi(args[0]), args[1]
			ch := make(chan os.Signal, 8)
			signal.Notify(ch, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGQUIT, syscall.SIGINT)
			_ = os.WriteFile(file, []byte(strconv.Itoa(os.Getpid())), 0o644)
			for s := range ch {
				if s == syscall.SIGTERM {
					return code
				}
				f, err := os.OpenFile(file+".sig", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
				if err == nil {
					fmt.Fprintln(f, s.(syscall.Signal).String())
					f.Close()
				}
			}
			return 0
		}},
		"ignore": {"FILE: ignore SIGTERM and SIGINT, write FILE, then block", func(args []string) int {
			signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
			_ = os.WriteFile(args[0], []byte(strconv.Itoa(os.Getpid())), 0o644)
			select {}
		}},
		"leaf": {"MILLIS: sleep, then exit 0", func(args []string) int {
			time.Sleep(time.Duration(atoi(args[0])) * time.Millisecond)
			return 0
		}},
		"spawn": {"N MILLIS: start N leaves and exit at once, orphaning them", func(args []string) int {
			n := atoi(args[0])
			for i := 0; i < n; i++ {
				if _, err := startSelf([]string{"leaf", args[1]}, false); err != nil {
					fmt.Fprintln(os.Stderr, "spawn:", err)
					return 1
				}
			}
			return 0
		}},
		"orphans": {"N: make N orphans that exit together, then check that none is left a zombie", func(args []string) int {
			return orphans(atoi(args[0]))
		}},
		"daemon": {"TOKEN FILE: start a grandchild (marked TOKEN-grandchild) in its own session that ignores SIGTERM, write its pid to FILE, block", func(args []string) int {
			pid, err := startSelf([]string{"ignore-forever", args[0] + "-grandchild"}, true)
			if err != nil {
				fmt.Fprintln(os.Stderr, "daemon:", err)
				return 1
			}
			_ = os.WriteFile(args[1], []byte(strconv.Itoa(pid)), 0o644)
			select {}
		}},
		"ignore-forever": {"TOKEN: ignore SIGTERM and block; TOKEN marks it in ps", func(args []string) int {
			signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
			select {}
		}},
		"append": {"FILE TEXT: append TEXT and a newline to FILE, then block until killed", func(args []string) int {
			f, err := os.OpenFile(args[0], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return 1
			}
			fmt.Fprintln(f, args[1])
			f.Close()
			ch := make(chan os.Signal, 1)
			signal.Notify(ch, syscall.SIGTERM)
			<-ch
			f, _ = os.OpenFile(args[0], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			fmt.Fprintln(f, "stop "+args[1])
			f.Close()
			return 0
		}},
		"selfkill": {"SIGNUM: kill itself with the signal", func(args []string) int {
			_ = syscall.Kill(os.Getpid(), syscall.Signal(atoi(args[0])))
			time.Sleep(time.Second)
			return 1
		}},
		"glx": {"DIR CODE: run glxinfo -B into DIR/glxinfo, glxgears in the background, mark DIR/started; exit CODE once DIR/done exists", func(args []string) int {
			return glx(args[0], atoi(args[1]))
		}},
		"glxinfo-nvidia": {"[-B]: print what glxinfo -B prints with NVIDIA's GLX on an H200", func(args []string) int {
			fmt.Print("name of display: :0\ndisplay: :0  screen: 0\ndirect rendering: Yes\n" +
				"OpenGL vendor string: NVIDIA Corporation\nOpenGL renderer string: NVIDIA H200/PCIe/SSE2\n" +
				"OpenGL core profile version string: 4.6.0 NVIDIA 580.159.04\nOpenGL version string: 4.6.0 NVIDIA 580.159.04\n")
			return 0
		}},
		"clock": {"paint a square on the root window whose red level counts the seconds (ClockSeconds reads it), until killed", func([]string) int {
			return clock()
		}},
		"paint": {"RATE [BLACK_MILLIS]: fill the screen RATE times a second (black for BLACK_MILLIS first), until killed", func(args []string) int {
			rate, err := strconv.ParseFloat(args[0], 64)
			if err != nil || rate <= 0 {
				fmt.Fprintln(os.Stderr, "paint: want a rate above 0")
				return 2
			}
			black := 0
			if len(args) > 1 {
				black = atoi(args[1])
			}
			return xpaint.Run(rate, time.Duration(black)*time.Millisecond)
		}},
		"still": {"fill the screen once with a colour, then block until killed (an app that shows a menu and waits)", func([]string) int {
			return xpaint.Still()
		}},
		"fail-after": {"MILLIS CODE: sleep, then exit CODE", func(args []string) int {
			time.Sleep(time.Duration(atoi(args[0])) * time.Millisecond)
			return atoi(args[1])
		}},
	}
}

func helper(name string, args []string) int {
	h, ok := standIns[name]
	if !ok {
		fmt.Fprintln(os.Stderr, "helper: unknown", name)
		return 2
	}
	return h.run(args)
}

// startSelf starts the test binary as another helper without waiting for it.
func startSelf(args []string, setsid bool) (int, error) {
	argv := HelperArgv(args[0], args[1:]...)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer devnull.Close()
	p, err := os.StartProcess(argv[0], argv, &os.ProcAttr{
		Env:   os.Environ(),
		Files: []*os.File{devnull, os.Stderr, os.Stderr},
		Sys:   &syscall.SysProcAttr{Setsid: setsid},
	})
	if err != nil {
		return 0, err
	}
	pid := p.Pid
	_ = p.Release()
	return pid, nil
}

// orphans starts a spawner that makes n leaves and exits, so the leaves become
// orphans of PID 1 (or of the nearest subreaper); they all exit after 300 ms.
// It then waits until none is alive, and fails if any is left a zombie a second
// after the last one exited.
func orphans(n int) int {
	pid, err := startSelf([]string{"spawn", strconv.Itoa(n), "300"}, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "orphans:", err)
		return 1
	}
	// Reap our own child, the spawner, ourselves: it is ours, not an orphan.
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil || ws.ExitStatus() != 0 {
		fmt.Fprintln(os.Stderr, "orphans: spawner failed", err, ws.ExitStatus())
		return 1
	}
	deadline := time.Now().Add(20 * time.Second)
	lastAlive := time.Now()
	for time.Now().Before(deadline) {
		alive, zombies := leafCount()
		if alive > 0 {
			lastAlive = time.Now()
		} else if zombies == 0 {
			fmt.Printf("orphans: %d reaped, none left\n", n)
			return 0
		} else if time.Since(lastAlive) > time.Second {
			fmt.Fprintf(os.Stderr, "orphans: %d zombies left a second after the last exit\n", zombies)
			return 1
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "orphans: leaves did not finish")
	return 1
}

// leafCount counts the leaf helpers alive and the zombies whose parent is our
// parent (PID 1 or the subreaper that adopted the orphans).
func leafCount() (alive, zombies int) {
	self := filepath.Base(os.Args[0])
	self = self[:min(len(self), 15)]
	for _, p := range Procs() {
		if p.State == 'Z' {
			if p.PPID == os.Getppid() {
				zombies++
			}
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/cmdline")
		if p.Comm == self && strings.Contains(string(cmd), "\x00leaf\x00") {
			alive++
		}
	}
	return alive, zombies
}

func glx(dir string, code int) int {
	out, err := exec.Command("glxinfo", "-B").CombinedOutput()
	_ = os.WriteFile(filepath.Join(dir, "glxinfo"), out, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "glxinfo:", err)
	}
	gears := exec.Command("glxgears")
	gears.Stdout, gears.Stderr = os.Stdout, os.Stderr
	if err := gears.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "glxgears:", err)
		return 1
	}
	_ = os.WriteFile(filepath.Join(dir, "started"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	for {
		if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
			_ = gears.Process.Kill()
			_ = gears.Wait()
			return code
		}
		if gears.ProcessState != nil {
			return 1
		}
		time.Sleep(20 * time.Millisecond)
	}
}
