package health

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xinit-go/xinit-go/supervisor"
)

func svc(name, role string, st supervisor.State) supervisor.ServiceStatus {
	return supervisor.ServiceStatus{Name: name, Role: role, State: st, LastExitCode: -1, LastReason: "exit code 1"}
}

func TestHealthyAndReady(t *testing.T) {
	cases := []struct {
		name           string
		st             supervisor.Status
		healthy, ready bool
		why            string
	}{
		{"all up", supervisor.Status{Services: []supervisor.ServiceStatus{
			svc("x", "required", supervisor.Ready), svc("app", "main", supervisor.Ready)}}, true, true, "ok"},
		{"starting", supervisor.Status{Services: []supervisor.ServiceStatus{
			svc("x", "required", supervisor.Starting), svc("app", "main", supervisor.Pending)}}, true, false, "x is starting"},
		{"a restart within budget is healthy", supervisor.Status{Services: []supervisor.ServiceStatus{
			svc("x", "required", supervisor.Backoff), svc("app", "main", supervisor.Pending)}}, true, false, "x is backoff"},
		{"a required service failed", supervisor.Status{Services: []supervisor.ServiceStatus{
			svc("x", "required", supervisor.Failed), svc("app", "main", supervisor.Ready)}}, false, false, "x failed: exit code 1"},
		{"an optional service failed", supervisor.Status{Services: []supervisor.ServiceStatus{
			svc("wm", "optional", supervisor.Failed), svc("app", "main", supervisor.Ready)}}, true, true, "ok"},
		{"a required oneshot done counts as ready", supervisor.Status{Services: []supervisor.ServiceStatus{
			svc("x", "required", supervisor.Ready), svc("gl", "required", supervisor.Done), svc("app", "main", supervisor.Ready)}}, true, true, "ok"},
		{"a required oneshot running is not ready yet", supervisor.Status{Services: []supervisor.ServiceStatus{
			svc("x", "required", supervisor.Ready), svc("gl", "required", supervisor.Starting), svc("app", "main", supervisor.Pending)}}, true, false, "gl is starting"},
		{"stopping", supervisor.Status{Stopping: true, Reason: "received SIGTERM"}, false, false, "stopping: received SIGTERM"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h, hwhy := Healthy(c.st)
			r, rwhy := Ready(c.st)
			if h != c.healthy || r != c.ready {
				t.Fatalf("healthy %v (%s), ready %v (%s); want %v, %v", h, hwhy, r, rwhy, c.healthy, c.ready)
			}
			if !strings.Contains(hwhy+" "+rwhy, c.why) {
				t.Fatalf("reasons %q, %q; want %q in one", hwhy, rwhy, c.why)
			}
		})
	}
}

// TestConnectionLimit: connections that send nothing are bounded: past the
// limits the newest is closed at once (a flood costs accepts, not goroutines),
// and once they are gone the server answers again.
func TestConnectionLimit(t *testing.T) {
	st := supervisor.Status{Services: []supervisor.ServiceStatus{svc("app", "main", supervisor.Ready)}}
	s, err := Listen(Options{Addr: "127.0.0.1:0"}, func() supervisor.Status { return st }, Info{}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Close(time.Second)
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range maxConns {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// Accept is asynchronous: the connection past the limit is read to EOF.
	extra, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	_ = extra.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := extra.Read(make([]byte, 1)); err == nil {
		t.Fatalf("a connection past the limit was served (%d bytes)", n)
	}
	for _, c := range held {
		c.Close()
	}
	held = nil
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + s.Addr() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never answered again: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStatusHoldsNoSecretsOrEnvironment: /status shows state, never what a
// client could use against the container (the environment, command lines, files).
func TestStatusHoldsNoSecretsOrEnvironment(t *testing.T) {
	st := supervisor.Status{Services: []supervisor.ServiceStatus{svc("app", "main", supervisor.Ready)}}
	s, err := Listen(Options{Addr: "127.0.0.1:0"}, func() supervisor.Status { return st }, Info{Backend: "xvfb"}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Close(time.Second)
	resp, err := http.Get("http://" + s.Addr() + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	for _, bad := range []string{"argv", "env", "password", "Xauthority", "cookie"} {
		if strings.Contains(strings.ToLower(b.String()), strings.ToLower(bad)) {
			t.Errorf("/status mentions %q:\n%s", bad, b.String())
		}
	}
}
func TestVitalOptionalServices(t *testing.T) {
	t.Parallel()
	set := func(vnc supervisor.State) supervisor.Status {
		return supervisor.Status{Services: []supervisor.ServiceStatus{
			{Name: "x", Role: "required", State: supervisor.Ready},
			{Name: "vnc", Role: "optional", State: vnc, LastReason: "exit code 1; restart budget spent"},
			{Name: "app", Role: "main", State: supervisor.Ready},
		}}
	}
	for _, tc := range []struct {
		vnc            supervisor.State
		vital          []string
		healthy, ready bool
		says           string // in the reason when not ok
	}{
		{supervisor.Ready, []string{"vnc"}, true, true, ""},
		{supervisor.Backoff, []string{"vnc"}, true, false, "vnc is"},
		{supervisor.Failed, []string{"vnc"}, false, false, "vnc failed: exit code 1; restart budget spent"},
		// Not vital: an optional service's failure is its own.
		{supervisor.Failed, nil, true, true, ""},
	} {
		st := set(tc.vnc)
		h, hr := Healthy(st, tc.vital...)
		r, rr := Ready(st, tc.vital...)
		if h != tc.healthy || r != tc.ready {
			t.Errorf("vnc %s, vital %v: healthy %v (%s), ready %v (%s); want %v, %v", tc.vnc, tc.vital, h, hr, r, rr, tc.healthy, tc.ready)
		}
		if !h && !strings.Contains(hr, tc.says) || !r && !strings.Contains(rr, "vnc") {
			t.Errorf("vnc %s: reasons %q, %q do not name vnc (%q)", tc.vnc, hr, rr, tc.says)
		}
	}
}

// TestSocketOnlyInAPrivateDirectory: the probe's socket is removed and
// chmod'ed relative to its directory, opened without following a link, and
// only in a directory no other user can write; elsewhere there is no socket
// (the probe asks over TCP).
func TestSocketOnlyInAPrivateDirectory(t *testing.T) {
	shared := t.TempDir()
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	if ln, err := listenSocket(filepath.Join(shared, "health.sock")); err == nil {
		ln.Close()
		t.Fatal("a socket in a directory anyone can write")
	}
	private := t.TempDir()
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	// A link to the private directory, which another user could have planted
	// and may later point elsewhere, is not followed.
	link := filepath.Join(t.TempDir(), "run")
	if err := os.Symlink(private, link); err != nil {
		t.Fatal(err)
	}
	if ln, err := listenSocket(filepath.Join(link, "health.sock")); err == nil {
		ln.Close()
		t.Fatal("a socket through a link to the directory")
	}
	ln, err := listenSocket(filepath.Join(private, "health.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	st, err := os.Stat(filepath.Join(private, "health.sock"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v, %v; want mode 0600", st, err)
	}
}
