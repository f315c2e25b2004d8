// Package supervisor runs a set of services as the PID 1 of a container.
//
// A service is a Spec: argv, environment, working directory, optional credentials,
// a readiness check, the services it comes after, a restart policy, a stop signal and
// a stop grace. Each service runs in its own process group. A service starts only
// when every service it comes after is ready, and the whole set stops in reverse
// dependency order: the stop signal to the group, the grace, then SIGKILL to the group.
//
// A Oneshot service runs to its end once, as a check between two services (the
// GL renderer probe between the X server and the app): its exit 0 is its
// readiness (state Done), ReadyTimeout bounds its run, and it runs again only
// when a service it comes after restarts. A Required service's FailCode is the
// set's exit code when it fails for good (69 for the probe of XINIT_REQUIRE_GPU).
// A check that must start a program is such a service, never a goroutine: the
// loop's wait4(-1) would reap the program and its status would be lost.
//
// One goroutine, the loop in Supervisor.Run, owns every process: it starts them,
// it is the only caller of wait4 in the program, and it routes each exit status to
// the service it belongs to. On SIGCHLD it calls wait4(-1, WNOHANG) until nothing is
// left, so orphans that the kernel reparents to us are reaped in the same loop.
// Nothing in the program may call exec.Cmd.Wait, os.Process.Wait or start a
// process through os/exec while a Supervisor runs: those would race with the reaper
// and lose a status.
//
// github.com/hashicorp/go-reap does not fit: its ReapChildren reaps with wait4(-1)
// and reports only pids, never exit statuses, so a service's exit code would be lost;
// and to keep it from stealing statuses from exec.Cmd.Wait a caller must hold a lock
// that blocks all reaping while any child runs, which leaves orphans as zombies for
// the life of the app.
//
// The code is laid out as the loop reads:
//
//   - supervisor.go: Options, New, and Run, the loop: wait for a signal, a
//     readiness result, the hook's end or the next deadline; reap; act on
//     signals; step; arm the timer for the next deadline. Then finalize: the
//     last sweep and the goroutines, bounded by the stop budget.
//   - machine.go: the state machine. set is the one place a state changes;
//     deadline is the one place a service's next deadline is computed, for the
//     timer and for step alike; classify decides what an end of a run means
//     (stopped, follow a dependency, restart, fail) and ended acts on it.
//   - procs.go: the seam at the OS boundary (start, signal a group, reap, the
//     last sweep) and its real implementation with fork/exec and output pumps;
//     proc_linux.go: the system calls under it.
//
// The state machine takes the time as an argument and reaches processes only
// through the seam, so machine_test.go drives every transition by hand against
// a fake, in microseconds; the tests in cmd/xinit-go run the same rules against
// the real kernel with the binary as PID 1.
//
// Nothing on the loop blocks on a service: BeforeFinish (the screenshot) and
// readiness probes run on goroutines of their own and report through channels.
// The whole stop, from its decision to Run's return, takes at most StopBound:
// the hook's 2 s, the grace, and StopSlack for the later services, for a process
// that SIGKILL cannot end (abandoned after a second, or at the budget's end) and
// for the last sweep.
//
// As PID 1 the kernel gives us no default signal dispositions, so SIGTERM and SIGINT
// are handled explicitly: the first starts an orderly stop, a second escalates to
// SIGKILL. A configurable list of signals (SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH and
// SIGQUIT by default) is forwarded to the main service's process group. When not PID 1
// (tests, `docker run --init`, a shell) the supervisor makes itself a child
// subreaper (PR_SET_CHILD_SUBREAPER) so that orphans still come to it, and before
// Run returns it kills and reaps every remaining descendant: nothing outlives it.
//
// When stdin is a terminal whose foreground process group is ours (docker run
// -it), the main service is made the terminal's foreground group, as tini does, so
// an interactive app can read it and Ctrl-C reaches it; the supervisor takes the
// terminal back when it ends.
//
// Exit codes follow the contract: the main service's own code, 128+N when a signal
// N killed it, 124 when it outlived its timeout, 126/127 when its program could
// not run, a required service's FailCode (70 by default) when it failed for good (never ready, or its
// restart budget spent) or when the main service spent its budget with a clean
// exit: a set that failed never exits 0.
package supervisor
