package main

import (
	"encoding/json"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/internal/testutil"
	"github.com/xinit-go/xinit-go/supervisor"
)

// These tests run Vulkan apps through VK_LAYER_XINIT_present on Mesa's lavapipe,
// which presents to Xvfb by itself: XINIT_VULKAN=copy forces the layer on and its
// copy, XINIT_VULKAN=layer leaves lavapipe's swapchains to lavapipe, and the stand-in
// driver layer below the present layer (VK_LAYER_XINIT_test_offer with
// XINIT_TEST_NO_PRESENT=1) plays NVIDIA's driver on an X server it does not drive.
// Each test checks the layer's own lines in the app's output.

const layerLine = "VK_LAYER_XINIT_present: swapchain "

var (
	layerOnce sync.Once
	layerDir  string
	layerErr  error
)

// vkLayer builds vklayer/ once and returns its build directory, which holds the
// layer, its manifest and swapchain-test.
func vkLayer(t *testing.T) string {
	t.Helper()
	testutil.Need(t, "make", "cc", "vkcube", "Xvfb", "x11vnc")
	if _, err := os.Stat("/usr/include/vulkan/vulkan.h"); err != nil {
		testutil.Need(t, "libvulkan-dev (vulkan/vulkan.h)")
	}
	layerOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		src := filepath.Join(filepath.Dir(file), "..", "..", "vklayer")
		out, err := exec.Command("make", "-C", src).CombinedOutput()
		if err != nil {
			layerErr = fmt.Errorf("make -C vklayer: %v\n%s", err, out)
			return
		}
		layerDir, layerErr = filepath.Abs(filepath.Join(src, "build"))
	})
	if layerErr != nil {
		t.Fatal(layerErr)
	}
	return layerDir
}

func vulkanEnv(t *testing.T, extra ...string) []string {
	return append([]string{"XINIT_VULKAN=copy", "VK_ADD_LAYER_PATH=" + vkLayer(t)}, extra...)
}

// validationDir is where the Khronos validation layer's manifest is installed.
const validationDir = "/usr/share/vulkan/explicit_layer.d"

// needValidation makes sure the Khronos validation layer is installed.
func needValidation(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(validationDir, "VkLayer_khronos_validation.json")); err != nil {
		testutil.Need(t, "vulkan-validationlayers")
	}
}

// layerOrder is the environment that stacks the Khronos validation layer above the
// present layer (nearer the app: it validates what the app does with the layer's
// swapchains) or below it (it validates the layer's own calls), with the stand-in
// driver layer in offer, when not "", at the bottom. It names the layers in
// VK_INSTANCE_LAYERS in that order, for loaders that follow it, and their
// directories in VK_LAYER_PATH in the same order, for Debian 12's, which orders
// layers by where it finds their manifests; a command line gets it through env -u
// VK_ADD_LAYER_PATH, whose directories would come first.
func layerOrder(build, offer string, above bool) []string {
	names := []string{"VK_LAYER_XINIT_present", "VK_LAYER_KHRONOS_validation"}
	dirs := []string{build, validationDir}
	if above {
		names[0], names[1], dirs[0], dirs[1] = names[1], names[0], dirs[1], dirs[0]
	}
	if offer != "" {
		names, dirs = append(names, "VK_LAYER_XINIT_test_offer"), append(dirs, offer)
	}
	return []string{"VK_LAYER_PATH=" + strings.Join(dirs, ":"), "VK_INSTANCE_LAYERS=" + strings.Join(names, ":")}
}

// shellEnv renders env for a shell command line: env -u VK_ADD_LAYER_PATH [-u
// NAME...] K=V ...
func shellEnv(env []string, unset ...string) string {
	q := []string{"env", "-u", "VK_ADD_LAYER_PATH"}
	for _, u := range unset {
		q = append(q, "-u", u)
	}
	for _, kv := range env {
		q = append(q, "'"+kv+"'")
	}
	return strings.Join(q, " ")
}

// onPurpose matches the lines with which swapchain-test marks a rule it breaks on
// purpose, and the validation message that rule has.
var onPurpose = regexp.MustCompile(`^swapchain-test: on purpose: (.*) \(([A-Za-z0-9_-]+)\)$`)

// validationClean fails the test when the validation layer was not active or
// reported anything, but for what swapchain-test provokes on purpose: between its
// "on purpose" lines only the message named there may appear, and must, when the
// validation layer is above the present layer (there it sees what the app does; below
// it, the present layer keeps those calls from it).
func validationClean(t *testing.T, out string, above bool) {
	t.Helper()
	if !strings.Contains(out, `Insert instance layer "VK_LAYER_KHRONOS_validation"`) {
		t.Errorf("the validation layer was not loaded:\n%s", out)
	}
	allowed, what, seen := "", "", 0
	for _, l := range strings.Split(out, "\n") {
		if m := onPurpose.FindStringSubmatch(l); m != nil {
			allowed, what, seen = m[2], m[1], 0
			continue
		}
		if l == "swapchain-test: on purpose: done" {
			if above && seen == 0 {
				t.Errorf("the validation layer above the present layer did not report %s (%s): is it above?", allowed, what)
			}
			allowed = ""
			continue
		}
		if !strings.Contains(l, "Validation Error") && !strings.Contains(l, "VUID-") && !strings.Contains(l, "Validation Warning") {
			continue
		}
		if allowed != "" && strings.Contains(l, allowed) {
			seen++
			continue
		}
		t.Errorf("validation: %s", l)
	}
	if allowed != "" {
		t.Errorf("swapchain-test never ended its on-purpose mark for %s", what)
	}
}

// segments lists the SysV shared memory segments that pid created: their
// permission words, which carry SHM_DEST (01000) once IPC_RMID has been called.
func segments(t *testing.T, pid int) []int {
	t.Helper()
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		t.Fatal(err)
	}
	var perms []int
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		if cpid, _ := strconv.Atoi(f[4]); cpid == pid {
			p, _ := strconv.ParseInt(f[2], 8, 32)
			perms = append(perms, int(p))
		}
	}
	return perms
}

func vkcubePID(s *xsession) int {
	for _, pid := range descendants(s.p.PID())[1:] {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(b)) == "vkcube" {
			return pid
		}
	}
	return 0
}

// cube counts the pixels of the window's corner (vkcube's 500x500 window sits at 0,0)
// that differ clearly from its most common colour, the background.
func cube(img image.Image) int {
	hist := map[[3]uint32]int{}
	var px [][3]uint32
	for y := 0; y < 500 && y < img.Bounds().Dy(); y += 2 {
		for x := 0; x < 500 && x < img.Bounds().Dx(); x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			c := [3]uint32{r >> 8, g >> 8, b >> 8}
			hist[c]++
			px = append(px, c)
		}
	}
	var bg [3]uint32
	for c, n := range hist {
		if n > hist[bg] {
			bg = c
		}
	}
	n := 0
	for _, c := range px {
		d := 0
		for i := range c {
			d += int(max(c[i], bg[i]) - min(c[i], bg[i]))
		}
		if d > 60 && c != [3]uint32{} {
			n++
		}
	}
	return n
}

func TestVulkanLayerVkcube(t *testing.T) {
	s := startX(t, "xvfb", vulkanEnv(t, "VNC_PASSWORD="+password), []string{"--", "vkcube"})
	s.waitReady()
	testutil.Eventually(t, 60*time.Second, "the layer's swapchain line", func() bool {
		return strings.Contains(s.p.Stdout.String()+s.p.Stderr.String(), layerLine)
	})
	if _, body := s.get("/status"); !strings.Contains(body, `"vulkan_layer": true`) {
		t.Errorf("/status does not say the layer is on: %s", body)
	}
	testutil.Eventually(t, 60*time.Second, "a VNC picture with the cube", func() bool {
		img, log, err := snapshot(t, s.vncPort, password)
		if err != nil {
			t.Logf("%v: %s", err, log)
			return false
		}
		return cube(img) > 2000
	})

	// The segment is marked for removal while the app runs, and gone once it is killed.
	pid := vkcubePID(s)
	if pid == 0 {
		t.Fatal("no vkcube process under xinit-go")
	}
	segs := segments(t, pid)
	if len(segs) == 0 {
		t.Fatalf("vkcube (pid %d) created no shared memory segment: the layer did not use MIT-SHM", pid)
	}
	for _, p := range segs {
		if p&0o1000 == 0 {
			t.Errorf("a segment of vkcube has mode %o without SHM_DEST: IPC_RMID was not called", p)
		}
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := s.p.Wait(60 * time.Second); code != 128+9 {
		t.Errorf("exit %d, want 137", code)
	}
	testutil.Eventually(t, 30*time.Second, "vkcube's shared memory to go", func() bool {
		return len(segments(t, pid)) == 0
	})
}

func TestVulkanLayerValidationAndScreenshot(t *testing.T) {
	needValidation(t)
	dir := t.TempDir()
	shot, log := filepath.Join(dir, "last.png"), filepath.Join(dir, "vkcube.log")
	s := startX(t, "xvfb", vulkanEnv(t,
		"XINIT_VNC=off", "XINIT_APP_TIMEOUT=20s", "XINIT_SCREENSHOT="+shot,
		"VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation", "VK_LOADER_DEBUG=layer"),
		ownLog(log, "vkcube"))
	got := s.p.Wait(120 * time.Second)
	b, _ := os.ReadFile(log)
	out := string(b)
	if got != 124 {
		t.Fatalf("exit %d, want 124\n%s\n%s", got, s.p.Stderr.String(), out)
	}
	if !strings.Contains(out, layerLine) {
		t.Fatalf("the layer made no swapchain:\n%s", out)
	}
	validationClean(t, out, false)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if n := cube(img); n < 2000 {
		t.Errorf("the screenshot shows no cube (%d pixels apart from the background)", n)
	}
}

// ownLog returns the app arguments that run argv with its stdout and stderr in file.
// An app that inherits xinit-go's stderr shares that pipe with xinit-go's own log, so
// a line it writes in several pieces (the loader's do) can be cut by one of xinit-go's;
// in a file of its own, only the app's threads write.
func ownLog(file string, argv ...string) []string {
	return append([]string{"--", "sh", "-c", `f=$1; shift; exec "$@" >"$f" 2>&1`, "sh", file}, argv...)
}

// scRun is one run of swapchain-test in TestVulkanLayerSwapchain.
type scRun struct {
	name, mode string
	env        []string // besides the layer order
	above      bool     // the validation layer above the present layer
	pass       bool     // the driver presents: the layer must pass its swapchains through
	want       []string
	absent     []string // lines that must not appear
}

// swapchainRun checks one run of swapchain-test from its own log: it said ok and
// each of the lines in want; the stand-in below the layer was loaded; where the
// driver cannot present, the layer hid the swapchain extensions it does not
// implement and printed one line for each swapchain the program says it created;
// where the driver presents, the layer said so, made no swapchain and hid nothing;
// and the validation layer was loaded and said nothing but what the program provokes
// on purpose.
func swapchainRun(t *testing.T, log string, r scRun) {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	out, name := string(b), filepath.Base(log)
	m := regexp.MustCompile(`(?m)^swapchain-test: ok, (\d+) swapchains created$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%s: swapchain-test did not say ok:\n%s", name, out)
	}
	want := append([]string{"VK_LAYER_XINIT_test_offer: offering"}, r.want...)
	if r.pass {
		want = append(want, "presents to it by itself: its swapchains pass through the layer untouched",
			"swapchain-test: the driver presents: present_wait, present_id, swapchain_maintenance1 and low_latency2 offered as it offers them")
	} else {
		want = append(want, "its swapchains are presented by copy",
			"swapchain-test: no present_wait, present_id, swapchain_maintenance1 or low_latency2 offered or accepted")
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: no line %q:\n%s", name, w, out)
		}
	}
	for _, a := range r.absent {
		if strings.Contains(out, a) {
			t.Errorf("%s: a line %q:\n%s", name, a, out)
		}
	}
	created, _ := strconv.Atoi(m[1])
	if created < 2 {
		t.Errorf("%s: swapchain-test created %d swapchains, want at least 2", name, created)
	}
	copies := created
	if r.pass {
		copies = 0
	}
	if n := strings.Count(out, layerLine); n != copies {
		t.Errorf("%s: the layer made %d swapchains of the %d created, want %d:\n%s", name, n, created, copies, out)
	}
	validationClean(t, out, r.above)
}

// swapchain-test checks present support per queue family, pixels (through MIT-SHM
// segments the GPU copies into, through a mapped buffer and one segment where the
// import is turned off or the driver refuses it, and, in one run, plain PutImage), resizes (VK_SUBOPTIMAL_KHR, frames still shown),
// FIFO_RELAXED and storage images, recreation, acquire's fences and timeouts and
// signals beside a second submitting thread, the extensions the layer hides, the
// app's allocator, destroying the device with a swapchain alive, and (its late runs)
// MAILBOX and IMMEDIATE with a GPU 30 ms late, through Xlib and XCB windows. Below
// the present layer sits the stand-in driver layer, which offers swapchain
// extensions, plays the late GPU and, with XINIT_TEST_NO_PRESENT=1, a driver that
// cannot present (as NVIDIA's without /dev/nvidia-modeset): the layer must find that
// out and copy. Without it lavapipe presents, and the passthrough runs check that the
// layer leaves its swapchains and extensions alone (the same frames, threads,
// resize, recreation and allocator, through lavapipe's swapchains); the forced run
// copies anyway (XINIT_VK_PRESENT_DRIVER=0). The Khronos validation layer sits below
// the present layer in some runs (it sees the layer's own calls: a layer that
// submitted on the app's queue in acquire would show as THREADING errors) and above
// it in others (it sees what the app does with the layer's swapchains, and must
// report the rules swapchain-test breaks on purpose).
func TestVulkanLayerSwapchain(t *testing.T) {
	needValidation(t)
	build := vkLayer(t)
	prog := filepath.Join(build, "swapchain-test")
	offer := filepath.Join(build, "test-offer")
	basic := []string{"none on the 1 that cannot copy", "the old frames went on (VkResult 1000001003), recreated, frames shown",
		"frames while another thread made", "destroyed and recreated", "fifo relaxed", "a swapchain with the app's allocator", "a thread waiting on the acquire fence woke",
		"device destroyed with a live swapchain"}
	noPresent := "XINIT_TEST_NO_PRESENT=1"
	lost := "cannot present to it (its vkGetPhysicalDeviceSurfacePresentModesKHR says VK_ERROR_SURFACE_LOST_KHR)"
	late := []string{"swapchain-test: mailbox with the GPU 30 ms late", "swapchain-test: immediate with the GPU 30 ms late"}
	// NVIDIA's driver (the stand-in reports its vendor ID) without /dev/nvidia-modeset:
	// the layer copies without asking the driver's surface queries, and says why
	nvidia := scRun{name: "nvidia", mode: "xcb", env: []string{"XINIT_TEST_VENDOR=0x10de"},
		want:   append([]string{"cannot present to it (NVIDIA's driver presents on X only with /dev/nvidia-modeset, which is missing (the container lacks the display driver capability: NVIDIA_DRIVER_CAPABILITIES must include display))"}, basic...),
		absent: []string{"VK_LAYER_XINIT_test_offer: surface queried"}}
	if _, err := os.Stat("/dev/nvidia-modeset"); err == nil {
		nvidia.want, nvidia.absent = []string{"VK_LAYER_XINIT_test_offer: surface queried"}, nil
		nvidia.mode, nvidia.pass = "passthrough", true
	}
	// lavapipe imports host memory (VK_EXT_external_memory_host): the copy lands in
	// each image's own segment; without it, through a mapped buffer and one segment
	direct, viaBuffer := "through MIT-SHM, the GPU copying into the segments; acquire", "through MIT-SHM; acquire"
	runs := []scRun{
		// lavapipe has no transfer-only queue family: the copy stays on the app's
		// queue even with XINIT_VK_PRESENT_XFER=1
		{name: "xcb", mode: "xcb", env: []string{noPresent, "XINIT_VK_PRESENT_XFER=1"}, want: append([]string{lost, direct, "the copy runs on the app's queue"}, basic...)},
		{name: "xlib", mode: "xlib", env: []string{noPresent, "XINIT_VK_PRESENT_IMPORT=0"}, want: append([]string{viaBuffer}, basic...)},
		{name: "noimport", mode: "xcb", env: []string{noPresent, "XINIT_TEST_NO_IMPORT=1"},
			want: append([]string{"the GPU cannot copy into its MIT-SHM segments (VK_ERROR_INVALID_EXTERNAL_HANDLE): copying through a buffer of the layer's own", viaBuffer}, basic...)},
		{name: "putimage", mode: "xcb", env: []string{noPresent, "XINIT_VK_PRESENT_SHM=0"}, want: append([]string{"presented by copy to X window 0x", "through PutImage"}, basic...)},
		{name: "late", mode: "late", env: []string{noPresent, "XINIT_TEST_GPU_LATENCY_MS=30"}, want: late},
		{name: "xcb-above", mode: "xcb", env: []string{noPresent}, above: true, want: basic},
		{name: "late-above", mode: "late", env: []string{noPresent, "XINIT_TEST_GPU_LATENCY_MS=30"}, above: true, want: late},
		nvidia,
		{name: "forced", mode: "xcb", env: []string{"XINIT_VK_PRESENT_DRIVER=0"}, want: append([]string{"XINIT_VK_PRESENT_DRIVER=0: its swapchains are presented by copy"}, basic...)},
		{name: "passthrough", mode: "passthrough", pass: true, want: []string{"frames while another thread made", "a swapchain with the app's allocator", "fifo relaxed"}},
		{name: "passthrough-above", mode: "passthrough", above: true, pass: true, want: []string{"frames while another thread made", "destroyed and recreated"}},
	}
	var script []string
	for _, r := range runs {
		env := append(layerOrder(build, offer, r.above), r.env...)
		script = append(script, shellEnv(env)+` "$1" `+r.mode+` >"$2/`+r.name+`.log" 2>&1`)
	}
	for _, backend := range []string{"xvfb", "dummy"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			s := startX(t, backend, []string{"XINIT_VULKAN=layer", "VK_ADD_LAYER_PATH=" + build,
				"XINIT_VNC=off", "VK_LOADER_DEBUG=layer"},
				[]string{"--", "sh", "-c", strings.Join(script, " && "), "sh", prog, dir})
			code := s.p.Wait(240 * time.Second)
			for _, r := range runs {
				if code != 0 {
					b, _ := os.ReadFile(filepath.Join(dir, r.name+".log"))
					t.Logf("%s:\n%s", r.name, b)
					continue
				}
				swapchainRun(t, filepath.Join(dir, r.name+".log"), r)
			}
			if code != 0 {
				t.Fatalf("swapchain-test: exit %d\n%s", code, s.p.Stderr.String())
			}
		})
	}
}

// swapchain-test's attack runs use the API in legal ways that reached past the
// layer: images of the app's bound to a swapchain's images (Vulkan 1.1's
// VkImageSwapchainCreateInfoKHR and VkBindImageMemorySwapchainInfoKHR: lavapipe took
// the layer's swapchain for its own and crashed), a swapchain named with VK_EXT_debug_utils (the name went down to lavapipe,
// which took the layer's handle for one of its own and crashed), one vkQueuePresentKHR
// of a swapchain the driver presents and one the layer copies (the stand-in below
// presents on one window and not the other; the layer handed its own handle to
// lavapipe, a crash), windows of 1x1, 4097x3 and 3x701 beside another, a window
// destroyed under its swapchain (VK_ERROR_SURFACE_LOST_KHR, no X error for the app),
// 40 swapchains recreated (every segment removed at once, none left), and an X server
// grabbed by another client, which then serves no other, as a stopped one (presents
// return, acquire keeps its timeout, frames again after). The validation layer sits
// below the layer in one run and above it in the other. The killed run kills an app
// that recreates swapchains, a Vulkan 1.0 app that enables itself the extensions the
// layer adds for the import, 12 times while the X server is grabbed: no segment it
// made may outlive it (the layer removed them only after the X server's answer).
func TestVulkanLayerAttacks(t *testing.T) {
	needValidation(t)
	build := vkLayer(t)
	prog := filepath.Join(build, "swapchain-test")
	offer := filepath.Join(build, "test-offer")
	noPresent := "XINIT_TEST_NO_PRESENT=1"
	runs := map[string]string{
		"attack":       shellEnv(append(layerOrder(build, offer, false), noPresent)) + ` "$1" attack`,
		"attack-above": shellEnv(append(layerOrder(build, offer, true), noPresent)) + ` "$1" attack`,
		"killed": shellEnv([]string{"VK_LAYER_PATH=" + build + ":" + offer,
			"VK_INSTANCE_LAYERS=VK_LAYER_XINIT_present:VK_LAYER_XINIT_test_offer", noPresent}) + ` "$1" killed`,
	}
	var script []string
	for name, cmd := range runs {
		script = append(script, cmd+` >"$2/`+name+`.log" 2>&1`)
	}
	dir := t.TempDir()
	s := startX(t, "xvfb", []string{"XINIT_VULKAN=layer", "VK_ADD_LAYER_PATH=" + build,
		"XINIT_VNC=off", "VK_LOADER_DEBUG=layer"},
		[]string{"--", "sh", "-c", strings.Join(script, " && "), "sh", prog, dir})
	code := s.p.Wait(240 * time.Second)
	want := map[string][]string{
		"attack": {"swapchain-test: images bound to a swapchain's, frames shown",
			"swapchain-test: a named swapchain, frames shown",
			"swapchain-test: one present of the driver's swapchain and the layer's",
			"presents to it by itself: its swapchains pass through the layer untouched",
			"swapchain-test: 1x1 beside 320x240: frames shown", "swapchain-test: 4097x3 beside 320x240: frames shown",
			"swapchain-test: 3x701 beside 320x240: frames shown", "swapchain-test: 333x77 beside 320x240: frames shown",
			"swapchain-test: 40 swapchains recreated, their segments removed",
			"swapchain-test: with the X server stalled"},
		"killed": {"swapchain-test: killed 12 times while the X server was grabbed: no segment left"},
	}
	want["attack-above"] = want["attack"]
	for name := range runs {
		b, _ := os.ReadFile(filepath.Join(dir, name+".log"))
		out := string(b)
		if code != 0 {
			t.Logf("%s:\n%s", name, out)
			continue
		}
		for _, w := range want[name] {
			if !strings.Contains(out, w) {
				t.Errorf("%s: no line %q:\n%s", name, w, out)
			}
		}
		if name != "killed" {
			validationClean(t, out, strings.HasSuffix(name, "-above"))
		}
	}
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, s.p.Stderr.String())
	}
}

// TestVulkanLayerStoppedXServerKeepsTheStopBound: vkcube presents through the layer's
// copy when Xvfb is stopped (SIGSTOP): the layer's thread waits for the X server's
// answer, vkcube's acquire (no timeout) for the layer. The stop still ends within the
// README's bound, XINIT_STOP_GRACE + 2 s.
func TestVulkanLayerStoppedXServerKeepsTheStopBound(t *testing.T) {
	const grace = time.Second
	s := startX(t, "xvfb", vulkanEnv(t, "XINIT_VNC=off", "XINIT_STOP_GRACE=1s"), []string{"--", "vkcube"})
	s.waitReady()
	testutil.Eventually(t, 60*time.Second, "the layer's swapchain line", func() bool {
		return strings.Contains(s.p.Stdout.String()+s.p.Stderr.String(), layerLine)
	})
	x := s.xPID()
	if x == 0 {
		t.Fatal("no X server")
	}
	must(t, syscall.Kill(x, syscall.SIGSTOP))
	t.Cleanup(func() { _ = syscall.Kill(x, syscall.SIGCONT) })
	time.Sleep(time.Second) // vkcube's frames are all on their way to the window
	start := time.Now()
	s.p.Signal(syscall.SIGTERM)
	s.p.Wait(60 * time.Second)
	took, bound := time.Since(start), supervisor.StopBound(grace, false)
	t.Logf("SIGTERM to the end: %v (bound %v)", took.Round(time.Millisecond), bound)
	if took > bound+1500*time.Millisecond {
		t.Errorf("the stop took %v, past its bound of %v", took, bound)
	}
}

// vkcubepp and vkcube in each present mode the layer offers run through the layer
// (XINIT_VULKAN=copy) with the validation layer below it, vkcube and vkcubepp with it
// above too, and vkcube through lavapipe's own swapchains where the layer passes them
// through (XINIT_VK_PRESENT_DRIVER unset, as XINIT_VULKAN=layer leaves it), each from
// a log of its own, and say nothing wrong.
func TestVulkanLayerCubesUnderValidation(t *testing.T) {
	needValidation(t)
	testutil.Need(t, "vkcubepp")
	build := vkLayer(t)
	dir := t.TempDir()
	below, above := shellEnv(layerOrder(build, "", false)), shellEnv(layerOrder(build, "", true))
	pass := shellEnv(layerOrder(build, "", false), "XINIT_VK_PRESENT_DRIVER")
	passAbove := shellEnv(layerOrder(build, "", true), "XINIT_VK_PRESENT_DRIVER")
	runs := map[string]string{
		"vkcubepp":          below + " vkcubepp --c 150",
		"fifo":              below + " vkcube --c 150 --present_mode 2",
		"relaxed":           below + " vkcube --c 150 --present_mode 3",
		"mailbox":           below + " vkcube --c 150 --present_mode 1",
		"immediate":         below + " vkcube --c 150 --present_mode 0",
		"vkcubepp-above":    above + " vkcubepp --c 150",
		"mailbox-above":     above + " vkcube --c 150 --present_mode 1",
		"passthrough":       pass + " vkcube --c 150",
		"passthrough-above": passAbove + " vkcube --c 150",
	}
	var script []string
	for name, cmd := range runs {
		script = append(script, cmd+` >"$1/`+name+`.log" 2>&1`)
	}
	s := startX(t, "xvfb", vulkanEnv(t, "XINIT_VNC=off", "VK_LOADER_DEBUG=layer"),
		[]string{"--", "sh", "-c", strings.Join(script, " && "), "sh", dir})
	code := s.p.Wait(240 * time.Second)
	for name := range runs {
		b, _ := os.ReadFile(filepath.Join(dir, name+".log"))
		out := string(b)
		if code != 0 {
			t.Logf("%s:\n%s", name, out)
			continue
		}
		passed := strings.HasPrefix(name, "passthrough")
		if n := strings.Count(out, layerLine); passed != (n == 0) {
			t.Errorf("%s: the layer made %d swapchains:\n%s", name, n, out)
		}
		if passed && !strings.Contains(out, "presents to it by itself: its swapchains pass through the layer untouched") {
			t.Errorf("%s: the layer does not say it passed lavapipe's swapchains through:\n%s", name, out)
		}
		// vkcube and vkcubepp are Vulkan 1.0 apps: the layer enables what the host
		// import needs on their instance, and lavapipe's copy lands in the segments
		if !passed && !strings.Contains(out, "through MIT-SHM, the GPU copying into the segments") {
			t.Errorf("%s: the copy does not go straight into the MIT-SHM segments:\n%s", name, out)
		}
		validationClean(t, out, strings.HasSuffix(name, "-above"))
	}
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, s.p.Stderr.String())
	}
}

// Without XINIT_VULKAN=layer, and with no NVIDIA driver, the app gets lavapipe's own
// presentation and no layer.
func TestVulkanAutoWithoutNvidiaLeavesTheAppAlone(t *testing.T) {
	s := startX(t, "xvfb", []string{"XINIT_VNC=off", "VK_ADD_LAYER_PATH=" + vkLayer(t), "VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"},
		[]string{"--", "vkcube", "--c", "100"})
	code := s.p.Wait(180 * time.Second)
	out := s.p.Stdout.String() + s.p.Stderr.String()
	if code != 0 || strings.Contains(out, layerLine) {
		t.Fatalf("exit %d (want 0), output (want no layer line):\n%s", code, out)
	}
	if !strings.Contains(out, "no NVIDIA Vulkan driver") {
		t.Errorf("the log does not say why the layer is off:\n%s", out)
	}
}

// With NVIDIA's Vulkan driver found (a manifest naming libGLX_nvidia.so.0) and no
// /dev/nvidia-modeset, /status and the log name the device node and the display
// capability as the reason NVIDIA's Vulkan cannot present, not the X server.
func TestVulkanStatusNamesModeset(t *testing.T) {
	icd := filepath.Join(t.TempDir(), "nvidia_icd.json")
	if err := os.WriteFile(icd, []byte(`{"file_format_version": "1.0.0", "ICD": {"library_path": "libGLX_nvidia.so.0", "api_version": "1.4.312"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startX(t, "xvfb", []string{"XINIT_VNC=off", "VK_DRIVER_FILES=" + icd, "VK_ADD_LAYER_PATH=" + vkLayer(t)}, helperCmd("sleep"))
	s.waitReady()
	want := "cannot present to X here: /dev/nvidia-modeset is missing: the container lacks the `display` driver capability (NVIDIA_DRIVER_CAPABILITIES must include display"
	if _, err := os.Stat("/dev/nvidia-modeset"); err == nil {
		want = "can present under xvfb (/dev/nvidia-modeset is there)"
	}
	var doc struct {
		VulkanLayer bool   `json:"vulkan_layer"`
		Vulkan      string `json:"vulkan"`
	}
	_, body := s.get("/status")
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("/status: %v\n%s", err, body)
	}
	if !doc.VulkanLayer || !strings.Contains(doc.Vulkan, want) {
		t.Errorf("/status: vulkan_layer %v, vulkan %q; want the layer on and %q", doc.VulkanLayer, doc.Vulkan, want)
	}
	if strings.Contains(strings.ToLower(doc.Vulkan), "cannot present under xvfb") {
		t.Errorf("/status blames Xvfb: %q", doc.Vulkan)
	}
	testutil.Eventually(t, 10*time.Second, "the log's vulkan line", func() bool {
		return strings.Contains(s.p.Stderr.String(), want)
	})
	s.p.Signal(syscall.SIGTERM)
	s.p.Wait(30 * time.Second)
}
