// Package supervisor runs a set of services as the PID 1 of a container.
//
// A service is a Spec: argv, environment, working directory, optional credentials,
// a readiness check, the services it comes after, a restart policy, a stop signal and
// a stop grace. Each service runs in its own process group. A service starts only
// when every service it comes after is ready, and the whole set stops in reverse
// dependency order: the stop signal to the group, the grace, then SIGKILL to the group.
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
// N killed it, 124 when it outlived its timeout, 70 when a required service failed
// for good (never ready, or its restart budget spent).
package supervisor
