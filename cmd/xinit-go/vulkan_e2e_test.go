package main

import (
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
)

// These tests run Vulkan apps through VK_LAYER_XINIT_present on Mesa's lavapipe,
// which could present to Xvfb by itself: XINIT_VULKAN=layer forces the layer on, and
// each test checks the layer's own line in the app's output.

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
	return append([]string{"XINIT_VULKAN=layer", "VK_ADD_LAYER_PATH=" + vkLayer(t)}, extra...)
}

// needValidation makes sure the Khronos validation layer is installed.
func needValidation(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json"); err != nil {
		testutil.Need(t, "vulkan-validationlayers")
	}
}

// validationClean fails the test when the validation layer was not active or
// reported anything.
func validationClean(t *testing.T, out string) {
	t.Helper()
	if !strings.Contains(out, `Insert instance layer "VK_LAYER_KHRONOS_validation"`) {
		t.Errorf("the validation layer was not loaded:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "Validation Error") || strings.Contains(l, "VUID-") || strings.Contains(l, "Validation Warning") {
			t.Errorf("validation: %s", l)
		}
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
	validationClean(t, out)
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

// swapchainRun checks one run of swapchain-test from its own log: it said ok and
// each of the lines in want, the stand-in below the layer offered the swapchain
// extensions the layer must hide, the layer printed one line for each swapchain the
// program says it created, and the validation layer was loaded and said nothing.
func swapchainRun(t *testing.T, log string, want ...string) {
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
	for _, w := range append([]string{"VK_LAYER_XINIT_test_offer: offering",
		"swapchain-test: no present_wait, present_id, swapchain_maintenance1 or low_latency2 offered or accepted"}, want...) {
		if !strings.Contains(out, w) {
			t.Errorf("%s: no line %q:\n%s", name, w, out)
		}
	}
	created, _ := strconv.Atoi(m[1])
	if created < 2 {
		t.Errorf("%s: swapchain-test created %d swapchains, want at least 2", name, created)
	}
	if n := strings.Count(out, layerLine); n != created {
		t.Errorf("%s: the layer made %d swapchains of the %d created:\n%s", name, n, created, out)
	}
	validationClean(t, out)
}

// swapchain-test checks present support per queue family, pixels (through MIT-SHM and,
// in one run, plain PutImage), resizes (VK_SUBOPTIMAL_KHR, frames still shown),
// FIFO_RELAXED and storage images,
// recreation, acquire's fences and timeouts and signals beside a second submitting
// thread, the extensions the layer hides, the app's allocator, destroying the device
// with a swapchain alive, and
// (its late run) MAILBOX and IMMEDIATE with a GPU 30 ms late, through Xlib and XCB
// windows, with the validation layer and a stand-in that offers swapchain extensions
// and plays the late GPU below the layer (VK_ADD_LAYER_PATH's directories come first
// in the loader's discovery order, the system's validation layer after them: so the
// validation layer sees the layer's own calls, and a layer that submitted on the
// app's queue in acquire would show as THREADING errors).
func TestVulkanLayerSwapchain(t *testing.T) {
	needValidation(t)
	build := vkLayer(t)
	prog := filepath.Join(build, "swapchain-test")
	for _, backend := range []string{"xvfb", "dummy"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			s := startX(t, backend, []string{"XINIT_VULKAN=layer",
				"VK_ADD_LAYER_PATH=" + build + ":" + filepath.Join(build, "test-offer"),
				"XINIT_VNC=off", "VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation:VK_LAYER_XINIT_test_offer", "VK_LOADER_DEBUG=layer"},
				[]string{"--", "sh", "-c", `"$1" xcb >"$2/xcb.log" 2>&1 && "$1" xlib >"$2/xlib.log" 2>&1 &&
					XINIT_VK_PRESENT_SHM=0 "$1" xcb >"$2/putimage.log" 2>&1 &&
					XINIT_TEST_GPU_LATENCY_MS=30 "$1" late >"$2/late.log" 2>&1`, "sh", prog, dir})
			code := s.p.Wait(180 * time.Second)
			basic := []string{"none on the 1 that cannot copy", "the old frames went on (VkResult 1000001003), recreated, frames shown",
				"frames while another thread made", "destroyed and recreated", "fifo relaxed", "a swapchain with the app's allocator", "a thread waiting on the acquire fence woke",
				"device destroyed with a live swapchain"}
			runs := []struct {
				name string
				want []string
			}{
				{"xcb", basic},
				{"xlib", basic},
				{"putimage", append([]string{"presented by copy to X window 0x", "through PutImage"}, basic...)},
				{"late", []string{"swapchain-test: mailbox with the GPU 30 ms late", "swapchain-test: immediate with the GPU 30 ms late"}},
			}
			for _, r := range runs {
				if code != 0 {
					b, _ := os.ReadFile(filepath.Join(dir, r.name+".log"))
					t.Logf("%s:\n%s", r.name, b)
					continue
				}
				swapchainRun(t, filepath.Join(dir, r.name+".log"), r.want...)
			}
			if code != 0 {
				t.Fatalf("swapchain-test: exit %d\n%s", code, s.p.Stderr.String())
			}
		})
	}
}

// vkcubepp and vkcube in each present mode the layer offers run through the layer with
// the validation layer below it, each from a log of its own, and say nothing wrong.
func TestVulkanLayerCubesUnderValidation(t *testing.T) {
	needValidation(t)
	testutil.Need(t, "vkcubepp")
	dir := t.TempDir()
	runs := map[string]string{
		"vkcubepp":  "vkcubepp --c 150",
		"fifo":      "vkcube --c 150 --present_mode 2",
		"relaxed":   "vkcube --c 150 --present_mode 3",
		"mailbox":   "vkcube --c 150 --present_mode 1",
		"immediate": "vkcube --c 150 --present_mode 0",
	}
	var script []string
	for name, cmd := range runs {
		script = append(script, cmd+` >"$1/`+name+`.log" 2>&1`)
	}
	s := startX(t, "xvfb", vulkanEnv(t, "XINIT_VNC=off", "VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation", "VK_LOADER_DEBUG=layer"),
		[]string{"--", "sh", "-c", strings.Join(script, " && "), "sh", dir})
	code := s.p.Wait(180 * time.Second)
	for name := range runs {
		b, _ := os.ReadFile(filepath.Join(dir, name+".log"))
		out := string(b)
		if code != 0 {
			t.Logf("%s:\n%s", name, out)
			continue
		}
		if n := strings.Count(out, layerLine); n < 1 {
			t.Errorf("%s: the layer made no swapchain:\n%s", name, out)
		}
		validationClean(t, out)
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
