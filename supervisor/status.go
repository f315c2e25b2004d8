package supervisor

import "time"

// Status is a snapshot of the supervisor, safe to read from any goroutine.
type Status struct {
	Started  time.Time       `json:"started"`
	Stopping bool            `json:"stopping"`
	Reason   string          `json:"reason,omitempty"` // why the set stops
	ExitCode int             `json:"exit_code"`
	Orphans  int64           `json:"orphans_reaped"`
	Services []ServiceStatus `json:"services"`
}

// ServiceStatus is one service in a Status.
type ServiceStatus struct {
	Name       string        `json:"name"`
	Role       string        `json:"role"`
	State      State         `json:"state"`
	PID        int           `json:"pid,omitempty"`
	Started    time.Time     `json:"started,omitzero"`
	ReadyAfter time.Duration `json:"ready_after_ns,omitempty"`
	Restarts   int           `json:"restarts"`
	// LastExitCode is the code of the last exit (128+N for a signal), -1 before any.
	LastExitCode int    `json:"last_exit_code"`
	LastReason   string `json:"last_reason,omitempty"`
}

// Status returns the latest snapshot.
func (s *Supervisor) Status() Status {
	st := *s.status.Load()
	st.Orphans = s.orphans.Load()
	return st
}

func (s *Supervisor) publish() {
	st := &Status{
		Started:  s.started,
		Stopping: s.stop.on,
		Reason:   s.stop.reason,
		ExitCode: s.stop.code,
		Services: make([]ServiceStatus, 0, len(s.svcs)),
	}
	for _, sv := range s.svcs {
		ss := ServiceStatus{
			Name:         sv.spec.Name,
			Role:         sv.spec.Role.String(),
			State:        sv.state,
			PID:          sv.pid,
			Restarts:     sv.restarts,
			LastExitCode: -1,
			LastReason:   sv.lastReason,
		}
		if sv.state.running() {
			ss.Started = sv.started
		}
		if sv.state.Up() {
			ss.ReadyAfter = sv.readyAfter
		}
		if sv.last != nil {
			ss.LastExitCode = sv.last.Code()
		}
		st.Services = append(st.Services, ss)
	}
	s.status.Store(st)
}
