package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Role says what a service's end means for the whole set.
type Role int

const (
	// Optional services may fail for good; the others keep running.
	Optional Role = iota
	// Required services (the X server, VNC) end the set with exit code 70 when they
	// fail for good: never ready, or their restart budget spent.
	Required
	// Main is the app: when it ends and its policy does not restart it, the set
	// stops and its exit status becomes the exit code. At most one service is Main.
	Main
)

func (r Role) String() string {
	switch r {
	case Required:
		return "required"
	case Main:
		return "main"
	default:
		return "optional"
	}
}

// Probe is one start's readiness check.
type Probe struct {
	// Files are inherited by the child as fd 3, 4, ... and closed in the parent once
	// the child has started.
	Files []*os.File
	// Wait returns nil once the service is ready. Its context is cancelled when the
	// process exits or the ready timeout passes.
	Wait func(ctx context.Context) error
	// Close releases what the probe holds in the parent; it may be nil.
	Close func()
}

// Readiness makes the probe for one start of a service. Nil means the service is
// ready as soon as it has started.
type Readiness func() (*Probe, error)

// Spec describes a service.
type Spec struct {
	Name string
	Argv []string
	Env  []string
	Dir  string
	// Credential, when set, runs the service as that user and group.
	Credential *syscall.Credential
	// After names the services that must be ready before this one starts. When one
	// of them restarts, this service is stopped and started again after it.
	After []string
	Role  Role

	Ready        Readiness
	ReadyTimeout time.Duration

	// Oneshot marks a service that runs to its end once: an exit 0 means done
	// (state Done), which counts as ready for the services after it, and it is
	// not started again unless a service it comes after restarts. ReadyTimeout
	// bounds the whole run; Ready must be nil. A non-zero exit is a failure that
	// its restart policy handles like any other.
	Oneshot bool
	// FailCode is the set's exit code when this Required service fails for
	// good; zero means ExitFailed (70).
	FailCode int

	// PreStart runs before each start, in the supervisor's goroutine; keep it short.
	// An error counts as a failed start; wrap it with Permanent to fail for good.
	PreStart func(ctx context.Context) error

	// Exited, when set, runs in the supervisor's goroutine after each of the
	// service's processes has been reaped, with its pid: for cleaning up what the
	// process could not (keep it short).
	Exited func(pid int)

	// Output, when set, receives each line the service writes to stdout and stderr;
	// otherwise the service shares the supervisor's stdout and stderr.
	Output func(line string)
	// Stdin gives the service the supervisor's stdin; otherwise it reads /dev/null.
	Stdin bool

	Restart    Restart
	StopSignal syscall.Signal
	StopGrace  time.Duration
	// Timeout, for the Main service, is how long it may run (from its first start)
	// before it is stopped and the set exits with 124. Zero means no limit.
	Timeout time.Duration
}

// Validate reports what is wrong with a set of specs: empty or duplicate names,
// empty argv, unknown or cyclic dependencies, more than one Main.
func Validate(specs []Spec) error {
	var errs []error
	seen := map[string]bool{}
	mains := 0
	for _, s := range specs {
		if s.Name == "" {
			errs = append(errs, errors.New("service with an empty name"))
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("service %q: declared twice", s.Name))
		}
		seen[s.Name] = true
		if len(s.Argv) == 0 || s.Argv[0] == "" {
			errs = append(errs, fmt.Errorf("service %q: empty command", s.Name))
		}
		if s.Role == Main {
			mains++
		}
		if s.Oneshot && s.Role == Main {
			errs = append(errs, fmt.Errorf("service %q: the main service cannot be a oneshot", s.Name))
		}
		if s.Oneshot && s.Ready != nil {
			errs = append(errs, fmt.Errorf("service %q: a oneshot is ready when it exits 0; it takes no readiness check", s.Name))
		}
		if s.FailCode != 0 && s.Role != Required {
			errs = append(errs, fmt.Errorf("service %q: a fail code is for a required service, this one is %s", s.Name, s.Role))
		}
		if s.FailCode < 0 || s.FailCode > 255 {
			errs = append(errs, fmt.Errorf("service %q: fail code %d is not an exit code (1-255)", s.Name, s.FailCode))
		}
	}
	if mains > 1 {
		errs = append(errs, fmt.Errorf("%d services have the main role; at most one may", mains))
	}
	for _, s := range specs {
		for _, a := range s.After {
			if !seen[a] {
				errs = append(errs, fmt.Errorf("service %q: after %q, which is not a service", s.Name, a))
			}
		}
	}
	if len(errs) == 0 {
		if _, err := order(specs); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// order returns the indexes of specs in dependency order (dependencies first),
// keeping the given order among independent services.
func order(specs []Spec) ([]int, error) {
	idx := map[string]int{}
	for i, s := range specs {
		idx[s.Name] = i
	}
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(specs))
	var out []int
	var visit func(i int, path []string) error
	visit = func(i int, path []string) error {
		switch color[i] {
		case black:
			return nil
		case grey:
			return fmt.Errorf("services depend on each other in a cycle: %v", append(path, specs[i].Name))
		}
		color[i] = grey
		for _, a := range specs[i].After {
			if j, ok := idx[a]; ok {
				if err := visit(j, append(path, specs[i].Name)); err != nil {
					return err
				}
			}
		}
		color[i] = black
		out = append(out, i)
		return nil
	}
	for i := range specs {
		if err := visit(i, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks a PreStart or readiness error as one that a restart cannot fix:
// the service fails for good at once instead of using up its restart budget.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
