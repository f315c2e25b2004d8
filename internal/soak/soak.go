package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options of a soak run.
type Options struct {
	PID         int    // host pid of xinit-go
	Health      string // its health address, host:port
	VNCPort     int
	XRestarts   int // X server kills
	AppRestarts int // app kills in all, spread evenly around the X kills
	// Every is the sampling (and scraping) period; 1s when zero.
	Every time.Duration
	// Step bounds the wait for the session to be ready after one kill; 60s when zero.
	Step time.Duration
	// Progress, when set, gets each sample as it is taken.
	Progress func(Sample)
}

// Sample is xinit-go at one moment.
type Sample struct {
	At          time.Duration // since the start of the run
	XRestarts   int           // X kills so far
	AppRestarts int           // app kills so far
	RSSKB       int           // VmRSS
	AnonKB      int           // RssAnon
	HeapBytes   float64       // go_memstats_heap_alloc_bytes
	Goroutines  int           // go_goroutines
	FDs         int           // open file descriptors
	Shm         int           // System V shm segments created by the session's processes
	ShmOrphaned int           // of those, the ones whose creator has exited (a leak if they stay)
}

// Run drives the session until the kills are done, ctx ends or a step fails.
// It returns the samples taken so far in every case.
func Run(ctx context.Context, o Options) ([]Sample, error) {
	if o.Every <= 0 {
		o.Every = time.Second
	}
	if o.Step <= 0 {
		o.Step = 60 * time.Second
	}
	r := &runner{o: o, start: time.Now(), client: &http.Client{Timeout: 5 * time.Second}, creators: map[int]bool{}}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.sampleEvery(ctx)
	}()
	err := r.drive(ctx)
	cancel()
	wg.Wait()
	r.settle()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.samples, err
}

// settleTries bound the samples taken after the work.
const (
	settleTries = 12
	settleEvery = 250 * time.Millisecond
)

// settle takes the last samples, after the work: until the screen's update
// count watches again (its connection, made again after the last X restart,
// holds a file and goroutines) and two samples in a row agree on the open
// files and goroutines, or settleTries of them. The last is the run's end.
func (r *runner) settle() {
	for i := 0; i < settleTries; i++ {
		r.sample()
		r.mu.Lock()
		n := len(r.samples)
		steady := i > 0 && n >= 2 && r.samples[n-1].FDs == r.samples[n-2].FDs &&
			r.samples[n-1].Goroutines == r.samples[n-2].Goroutines
		r.mu.Unlock()
		if steady && r.watching() {
			return
		}
		time.Sleep(settleEvery)
	}
}

// watching reports whether /status says the screen's updates are being
// counted, or has no screen to count.
func (r *runner) watching() bool {
	_, b, err := r.get("/status")
	if err != nil {
		return false
	}
	var doc struct {
		Screen *struct {
			Watching bool `json:"watching"`
		} `json:"screen"`
	}
	if json.Unmarshal(b, &doc) != nil {
		return false
	}
	return doc.Screen == nil || doc.Screen.Watching
}

type runner struct {
	o      Options
	start  time.Time
	client *http.Client

	mu       sync.Mutex
	samples  []Sample
	xKills   int
	appKills int
	creators map[int]bool // host pids of the session's processes, ever seen
}

func (r *runner) drive(ctx context.Context) error {
	per := 0
	if r.o.XRestarts > 0 {
		per = r.o.AppRestarts / r.o.XRestarts
	}
	apps := 0
	for x := 0; x <= r.o.XRestarts; x++ {
		n := per
		if x == r.o.XRestarts {
			n = r.o.AppRestarts - apps // the rest, after the last X kill
		}
		for i := 0; i < n; i++ {
			if err := r.kill(ctx, "app"); err != nil {
				return err
			}
			apps++
			r.mu.Lock()
			r.appKills = apps
			r.mu.Unlock()
		}
		if err := r.vncVisit(); err != nil {
			return err
		}
		if x < r.o.XRestarts {
			if err := r.kill(ctx, "x"); err != nil {
				return err
			}
			r.mu.Lock()
			r.xKills = x + 1
			r.mu.Unlock()
		}
	}
	return nil
}

// kill SIGKILLs the service and waits until it has restarted and the whole
// session is ready again.
func (r *runner) kill(ctx context.Context, name string) error {
	deadline := time.Now().Add(r.o.Step)
	var before struct{ pid, restarts int }
	for {
		st, err := r.status()
		if err == nil {
			if sv, ok := st[name]; ok && sv.State == "ready" && sv.PID > 0 && r.ready() {
				before.pid, before.restarts = sv.PID, sv.Restarts
				break
			}
		}
		if err := r.wait(ctx, deadline, "the session to be ready before killing "+name); err != nil {
			return err
		}
	}
	r.noteSession()
	host := r.hostPID(before.pid)
	if host == 0 {
		return fmt.Errorf("%s: pid %d of the namespace not found among xinit-go's children", name, before.pid)
	}
	if err := syscall.Kill(host, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	for {
		st, err := r.status()
		if err == nil {
			if sv, ok := st[name]; ok && sv.Restarts > before.restarts && sv.State == "ready" && r.ready() {
				return nil
			}
		}
		if err := r.wait(ctx, deadline, name+" to restart and the session to be ready"); err != nil {
			return err
		}
	}
}

func (r *runner) wait(ctx context.Context, deadline time.Time, what string) error {
	if time.Now().After(deadline) {
		return fmt.Errorf("waited %s for %s", r.o.Step, what)
	}
	if syscall.Kill(r.o.PID, 0) != nil {
		return fmt.Errorf("xinit-go exited while waiting for %s", what)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Millisecond):
		return nil
	}
}

type service struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	PID      int    `json:"pid"`
	Restarts int    `json:"restarts"`
}

// get asks the health server and closes the connection from this side, so the
// server's end goes at once (a connection the server closes itself stays for
// half a second, and one kept alive stays for its idle timeout: either would be
// counted in xinit-go's files and goroutines).
func (r *runner) get(path string) (int, []byte, error) {
	resp, err := r.client.Get("http://" + r.o.Health + path)
	if err != nil {
		return 0, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.client.CloseIdleConnections()
	return resp.StatusCode, b, err
}

// quiet waits, up to 200 ms, until xinit-go holds no connection of the health
// server's: the sampler's own have gone.
func (r *runner) quiet() {
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if HealthConns(r.o.PID, r.o.Health) == 0 {
			return
		}
	}
}

// HealthConns counts the sockets pid holds that are connections (not the
// listener) on the local port of addr: a client's of the health server, which
// a count of pid's own open files leaves out.
func HealthConns(pid int, addr string) int {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return 0
	}
	inodes := map[string]bool{}
	for _, f := range []string{"tcp", "tcp6"} {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		for _, l := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fs := strings.Fields(l)
			if len(fs) < 10 || fs[3] == "0A" { // 0A: LISTEN
				continue
			}
			if i := strings.LastIndexByte(fs[1], ':'); i >= 0 {
				if lp, err := strconv.ParseUint(fs[1][i+1:], 16, 16); err == nil && int(lp) == p {
					inodes[fs[9]] = true
				}
			}
		}
	}
	n := 0
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, e := range ents {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		if ino, ok := strings.CutPrefix(l, "socket:["); err == nil && ok && inodes[strings.TrimSuffix(ino, "]")] {
			n++
		}
	}
	return n
}

func (r *runner) status() (map[string]service, error) {
	_, b, err := r.get("/status")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Services []service `json:"services"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	m := map[string]service{}
	for _, s := range doc.Services {
		m[s.Name] = s
	}
	return m, nil
}

func (r *runner) ready() bool {
	code, _, err := r.get("/readyz")
	return err == nil && code == http.StatusOK
}

// vncVisit connects a VNC client that reads the server's banner, answers with
// its version and leaves.
func (r *runner) vncVisit() error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(r.o.VNCPort)), 5*time.Second)
	if err != nil {
		return fmt.Errorf("vnc client: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	banner := make([]byte, 12)
	if _, err := io.ReadFull(c, banner); err != nil || !strings.HasPrefix(string(banner), "RFB ") {
		return fmt.Errorf("vnc client: no RFB banner (%q, %v)", banner, err)
	}
	_, err = c.Write([]byte("RFB 003.008\n"))
	return err
}

// hostPID finds the process below xinit-go whose pid in the namespace is nsPID.
func (r *runner) hostPID(nsPID int) int {
	for _, pid := range descendants(r.o.PID) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "NSpid:" && f[len(f)-1] == strconv.Itoa(nsPID) {
				return pid
			}
		}
	}
	return 0
}

func descendants(pid int) []int {
	out := []int{}
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		// A child is listed under the thread that forked it.
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", p))
		for _, t := range tasks {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", p, t.Name()))
			for _, f := range strings.Fields(string(b)) {
				c, _ := strconv.Atoi(f)
				out = append(out, c)
				queue = append(queue, c)
			}
		}
	}
	return out
}

func (r *runner) sampleEvery(ctx context.Context) {
	t := time.NewTicker(r.o.Every)
	defer t.Stop()
	for {
		r.sample()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sample scrapes /status and /metrics (the load a monitor puts on it) and reads
// xinit-go's figures.
//
// The files and goroutines are read with none of the sampler's connections
// open, so that they count xinit-go's own and not the measurement: /metrics is
// asked when the /status connection has gone (its goroutines are then the
// serving connection's, the same each time), the files when that one has too.
func (r *runner) sample() {
	_, _, _ = r.get("/status")
	r.quiet()
	_, metrics, _ := r.get("/metrics")
	r.quiet()
	s := Sample{At: time.Since(r.start)}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.o.PID))
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			s.RSSKB, _ = strconv.Atoi(f[1])
		case "RssAnon:":
			s.AnonKB, _ = strconv.Atoi(f[1])
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", r.o.PID)); err == nil {
		s.FDs = len(ents)
	}
	for _, l := range strings.Split(string(metrics), "\n") {
		if v, ok := strings.CutPrefix(l, "go_goroutines "); ok {
			s.Goroutines, _ = strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(l, "go_memstats_heap_alloc_bytes "); ok {
			s.HeapBytes, _ = strconv.ParseFloat(v, 64)
		}
	}
	r.noteSession()
	r.mu.Lock()
	defer r.mu.Unlock()
	s.Shm, s.ShmOrphaned = r.shmSegments()
	s.XRestarts, s.AppRestarts = r.xKills, r.appKills
	r.samples = append(r.samples, s)
	if r.o.Progress != nil {
		r.o.Progress(s)
	}
}

// shmSegments counts the segments whose creator is, or was, one of the session's
// processes (the X server and x11vnc make them for MIT-SHM).
func (r *runner) shmSegments() (n, orphaned int) {
	data, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return -1, -1
	}
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		if cpid, _ := strconv.Atoi(f[4]); r.creators[cpid] {
			n++
			if syscall.Kill(cpid, 0) != nil {
				orphaned++
			}
		}
	}
	return n, orphaned
}

// noteSession remembers the session's processes, the possible creators of shm segments.
func (r *runner) noteSession() {
	ps := descendants(r.o.PID)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range ps {
		r.creators[p] = true
	}
}
