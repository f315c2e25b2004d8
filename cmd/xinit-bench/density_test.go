package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

// The benchmark's own helper programs (the density workload among them) are the
// test binary re-executed, as they are the benchmark's binary in a real run.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "helper" {
		os.Exit(helper(os.Args[2], os.Args[3:]))
	}
	code := m.Run()
	testutil.Cleanup()
	os.Exit(code)
}

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func TestFrameParsers(t *testing.T) {
	type in struct {
		at   float64
		line string
	}
	cases := []struct {
		name  string
		p     frameParser
		lines []in
		want  []frameSample
	}{
		{"glxgears", glxgearsParser{}, []in{
			{5, "Running synchronized to the vertical refresh."},
			{5, "2618 frames in 5.0 seconds = 523.508 FPS"},
			{10, "6300 frames in 5.0 seconds = 1259.840 FPS"},
		}, []frameSample{{at(5), 2618, 5}, {at(10), 6300, 5}}},
		{"glmark2, FPS from the frame time", glmark2Parser{duration: 5 * time.Second}, []in{
			{1, "    GL_RENDERER:    NVIDIA H200/PCIe/SSE2"},
			{6, "[terrain] duration=5: FPS: 142 FrameTime: 7.042 ms"},
			{11, "[terrain] <default>: FPS: 2 FrameTime: 500.000 ms"},
			{12, "                                  glmark2 Score: 142 "},
		}, []frameSample{{at(6), 5000 / 7.042, 5}, {at(11), 10, 5}}},
		{"the layer: a swapchain's life, created to counted", &layerParser{}, []in{
			{1, "VK_LAYER_XINIT_present: swapchain 1920x1080, 3 images on NVIDIA H200, presented by copy to X window 0x400000 through MIT-SHM"},
			{2, "Selected GPU 0: NVIDIA H200, type: DiscreteGpu"},
			{5, "VK_LAYER_XINIT_present: swapchain 1920x1080: 1998 frames shown, 2 dropped; per shown frame 0.893 ms copying to shared memory, 0.801 ms putting to the window"},
			// A count with no creation seen before it is no sample.
			{6, "VK_LAYER_XINIT_present: swapchain 1920x1080: 10 frames shown, 0 dropped; per shown frame 0.1 ms copying to shared memory, 0.1 ms putting to the window"},
			{7, "VK_LAYER_XINIT_present: swapchain 640x480, 3 images on llvmpipe (LLVM 15.0.6, 256 bits), presented by copy to X window 0x200000 through MIT-SHM; acquire signals without the app's queues"},
			{9, "VK_LAYER_XINIT_present: swapchain 640x480: 999 frames shown, 1 dropped; per shown frame 0.027 ms copying to shared memory, 0.060 ms putting to the window"},
		}, []frameSample{{at(5), 2000, 4}, {at(9), 1000, 2}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []frameSample
			for _, l := range c.lines {
				if s, ok := c.p.line(at(l.at), l.line); ok {
					got = append(got, s)
				}
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d samples %+v, want %d %+v", len(got), got, len(c.want), c.want)
			}
			for i := range got {
				g, w := got[i], c.want[i]
				if !g.at.Equal(w.at) || abs(g.frames-w.frames) > 1e-6 || abs(g.seconds-w.seconds) > 1e-9 {
					t.Errorf("sample %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestRateCountsOnlySamplesWhollyInsideTheWindow(t *testing.T) {
	samples := []frameSample{
		{at(5), 500, 5},   // began at 0: before the window
		{at(10), 1000, 5}, // 5-10: inside
		{at(15), 2000, 5}, // 10-15: inside
		{at(21), 9000, 5}, // ends past the window
	}
	fps, n := rateIn(samples, at(5), at(20))
	if n != 2 || fps != 300 {
		t.Errorf("rate = %v over %d samples, want 300 over 2", fps, n)
	}
	if fps, n := rateIn(samples, at(30), at(40)); n != 0 || fps != 0 {
		t.Errorf("an empty window: %v over %d, want 0 over 0", fps, n)
	}
}

func TestParseProcStat(t *testing.T) {
	// A name with a space and parentheses; utime 14, stime 15, cutime 16, cstime 17.
	line := "4242 (Web (Content) x) S 4241 4242 4242 0 -1 4194560 100 0 0 0 150 50 30 20 20 0 9 0 12345 1000000 200 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 3 0 0 0 0 0\n"
	p, ok := parseProcStat([]byte(line))
	if !ok {
		t.Fatal("not parsed")
	}
	if p.pid != 4242 || p.ppid != 4241 || p.comm != "Web (Content) x" || p.self != 200 || p.reaped != 50 {
		t.Errorf("got %+v", p)
	}
	if _, ok := parseProcStat([]byte("12 (short) S 1")); ok {
		t.Error("a truncated line was parsed")
	}
}

// A session's CPU time by class: a child that ended between two readings is
// still counted, through the parent that reaped it.
func TestSessionTicksByClass(t *testing.T) {
	mk := func(entries ...procEntry) procTable {
		tb := procTable{procs: map[int]procEntry{}, children: map[int][]int{}}
		for _, e := range entries {
			tb.procs[e.pid] = e
			tb.children[e.ppid] = append(tb.children[e.ppid], e.pid)
		}
		return tb
	}
	classify := func(p procEntry) string {
		switch p.comm {
		case "Xvfb":
			return classX
		case "x11vnc":
			return classVNC
		case "xinit-bench":
			return classApp
		}
		return classOther
	}
	before := mk(
		procEntry{pid: 10, ppid: 9, comm: "xinit-go", self: 5, reaped: 7},
		procEntry{pid: 11, ppid: 10, comm: "Xvfb", self: 100},
		procEntry{pid: 12, ppid: 10, comm: "x11vnc", self: 3},
		procEntry{pid: 13, ppid: 10, comm: "xinit-bench", self: 1},
		procEntry{pid: 14, ppid: 13, comm: "vkcube", self: 400},
		// The GL probe: it ends before the second reading, reaped by xinit-go.
		procEntry{pid: 16, ppid: 10, comm: "xinit-go", self: 40},
	)
	// vkcube 14 ended at 450 ticks and was reaped by the helper; 15 is the next run.
	after := mk(
		procEntry{pid: 10, ppid: 9, comm: "xinit-go", self: 6, reaped: 7},
		procEntry{pid: 11, ppid: 10, comm: "Xvfb", self: 180},
		procEntry{pid: 12, ppid: 10, comm: "x11vnc", self: 3},
		procEntry{pid: 13, ppid: 10, comm: "xinit-bench", self: 2, reaped: 450},
		procEntry{pid: 15, ppid: 13, comm: "vkcube", self: 60},
		// Started after the first reading: counted whole.
		procEntry{pid: 17, ppid: 10, comm: "xinit-go", self: 9},
	)
	got := sessionCPU(before, after, 10, classify)
	want := map[string]int64{classInit: 1, classX: 80, classVNC: 0, classApp: 111, classOther: 9}
	for c, w := range want {
		if got[c] != w {
			t.Errorf("%s: %d ticks, want %d", c, got[c], w)
		}
	}
	if got := sessionCPU(before, after, 99, classify); len(got) != 0 {
		t.Errorf("a session that is gone: %v, want nothing", got)
	}
}

func TestParseGPULine(t *testing.T) {
	s, ok := parseGPULine(t0, "37, 1234, 143771")
	if !ok || s.util != 37 || s.memMiB != 1234 || s.totalMi != 143771 {
		t.Errorf("got %+v %v", s, ok)
	}
	for _, bad := range []string{"", "[N/A], 1, 2", "1, 2"} {
		if _, ok := parseGPULine(t0, bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestCapacityNeedsEverySessionAboveTheFloor(t *testing.T) {
	step := func(n int, fps ...float64) densityStep {
		s := densityStep{Workload: "w", N: n}
		for _, f := range fps {
			s.Sessions = append(s.Sessions, densitySession{FPS: f})
		}
		return s
	}
	r := densityReport{Workload: []workloadInfo{{Name: "w"}}, Steps: []densityStep{
		step(1, 500), step(2, 200, 190), step(4, 70, 59, 80, 90), step(8, 35, 31, 40, 33, 30, 32, 34, 36),
		{Workload: "w", N: 16, Err: "session 3 (display :403) never became ready"},
	}}
	want := "Most sessions measured with every one at 60 FPS or more: 2; at 30 FPS or more: 8."
	if got := r.capacity("w"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var md bytes.Buffer
	r.markdown(&md)
	if !strings.Contains(md.String(), "| 16 | failed: session 3 (display :403) never became ready |") {
		t.Errorf("the failed step is not in the table:\n%s", md.String())
	}
}

// Two sessions side by side, the real xinit-go as PID 1 of each, Xvfb and
// glxgears on Mesa: neither may clash with the other on the display, the ports
// or the runtime directory, both must run at once and report frames, and each
// must exit with its own app's code and leave no X socket or lock behind. This
// is `xinit-bench density -short`, as CI runs it.
func TestDensityTwoSessionsSideBySide(t *testing.T) {
	testutil.NeedRoot(t)
	testutil.Need(t, "unshare", "Xvfb", "x11vnc", "glxgears", "glxinfo")
	dir := t.TempDir()
	out := filepath.Join(dir, "density.json")
	var stdout, stderr bytes.Buffer
	code := densityBench([]string{"-short", "-xinit", testutil.Binary(t), "-json", out, "-logs", filepath.Join(dir, "logs")}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("xinit-bench density -short: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep densityReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Steps) != 1 || rep.Steps[0].N != 2 || len(rep.Steps[0].Sessions) != 2 || rep.Steps[0].Err != "" {
		t.Fatalf("want one step of two sessions, got %+v", rep.Steps)
	}
	step := rep.Steps[0]
	a, b := step.Sessions[0], step.Sessions[1]
	if a.Display == b.Display || a.RuntimeDir == b.RuntimeDir {
		t.Errorf("the sessions share a display or a runtime directory: %+v, %+v", a, b)
	}
	ports := map[int]bool{}
	for _, p := range []int{a.VNCPort, a.HealthPort, b.VNCPort, b.HealthPort} {
		if p == 0 || ports[p] {
			t.Errorf("ports not distinct: VNC %d, health %d and VNC %d, health %d", a.VNCPort, a.HealthPort, b.VNCPort, b.HealthPort)
			break
		}
		ports[p] = true
	}
	for _, s := range step.Sessions {
		if s.Err != "" {
			t.Errorf("session %d: %s", s.Index, s.Err)
		}
		if s.ReadyMS <= 0 {
			t.Errorf("session %d: never answered /readyz", s.Index)
		}
		// Both were up inside the same window, when the frames were counted.
		if !s.Up || s.Samples == 0 || s.FPS <= 0 {
			t.Errorf("session %d: up %v, %d frame samples at %.1f FPS inside the window; want up and at least one", s.Index, s.Up, s.Samples, s.FPS)
		}
		if s.Exit != s.WantExit {
			t.Errorf("session %d: exit %d, want its app's %d", s.Index, s.Exit, s.WantExit)
		}
		if s.Left {
			t.Errorf("session %d: display :%d's socket or lock was left behind", s.Index, s.Display)
		}
		if s.CPU[classX] <= 0 || s.CPU[classApp] <= 0 {
			t.Errorf("session %d: no CPU time for the X server or the app: %v", s.Index, s.CPU)
		}
	}
	if a.WantExit == b.WantExit {
		t.Errorf("both apps exit with %d: the codes cannot tell the sessions apart", a.WantExit)
	}
	if !strings.Contains(stdout.String(), "| 2 | ") {
		t.Errorf("the table has no row for 2 sessions:\n%s", stdout.String())
	}
	for _, s := range step.Sessions {
		if _, err := os.Stat(filepath.Join(dir, "logs", "glxgears-n02-s0"+string(rune('0'+s.Index))+".log")); err != nil {
			t.Errorf("session %d's log: %v", s.Index, err)
		}
	}
}
