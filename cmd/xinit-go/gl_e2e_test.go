package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

// TestRequireGPUOnMesa: with XINIT_REQUIRE_GPU=1 on a machine whose GL is Mesa's
// llvmpipe, the session exits 69 before the app starts, and the log says which
// library answered and what to set; with __GLX_VENDOR_LIBRARY_NAME=nvidia and no
// NVIDIA library, it names libglvnd's silent fallback.
func TestRequireGPUOnMesa(t *testing.T) {
	for _, c := range []struct {
		name string
		env  []string
		want []string
	}{
		{"vendor unset", nil, []string{"__GLX_VENDOR_LIBRARY_NAME is unset"}},
		{"vendor nvidia", []string{"__GLX_VENDOR_LIBRARY_NAME=nvidia"}, []string{"__GLX_VENDOR_LIBRARY_NAME=nvidia, but libGLX_nvidia.so.0 did not load"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			started := filepath.Join(t.TempDir(), "app-started")
			s := startX(t, "xvfb", append([]string{"XINIT_REQUIRE_GPU=1"}, c.env...), helperCmd("append", started, "app"))
			code := s.p.Wait(60 * time.Second)
			log := s.p.Stderr.String()
			if code != 69 {
				t.Fatalf("exit %d, want 69", code)
			}
			if _, err := os.Stat(started); !os.IsNotExist(err) {
				t.Fatalf("the app started: %v", err)
			}
			for _, w := range append(c.want, "XINIT_REQUIRE_GPU=1: the app's GL renderer is software", "llvmpipe", "libGLX_mesa.so.0",
				"XINIT_REQUIRE_GPU=1: the app's only Vulkan device is software",
				"NVIDIA_DRIVER_CAPABILITIES", "unset XINIT_REQUIRE_GPU", "required service gl failed") {
				if !strings.Contains(log, w) {
					t.Errorf("the log lacks %q", w)
				}
			}
		})
	}
}

// TestGLRendererReported: without XINIT_REQUIRE_GPU a software renderer is no
// failure: the app runs, and /status, /metrics and the log name llvmpipe.
// TestRequireGPUCoversVulkan: GL answers from the GPU (a stand-in glxinfo that
// prints what NVIDIA's GLX prints on an H200) but the only Vulkan device the app
// would see is Mesa's lavapipe: under XINIT_REQUIRE_GPU=1 the session ends with
// 69 before the app, naming the Vulkan device and what to set.
func TestRequireGPUCoversVulkan(t *testing.T) {
	testutil.Need(t, "vulkaninfo")
	bin := t.TempDir()
	argv := testutil.HelperArgv("glxinfo-nvidia")
	script := "#!/bin/sh\nexec"
	for _, a := range argv {
		script += " '" + a + "'"
	}
	if err := os.WriteFile(filepath.Join(bin, "glxinfo"), []byte(script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	started := filepath.Join(t.TempDir(), "app-started")
	s := startX(t, "xvfb", []string{"XINIT_REQUIRE_GPU=1", "PATH=" + bin + ":" + os.Getenv("PATH")}, helperCmd("append", started, "app"))
	code := s.p.Wait(60 * time.Second)
	log := s.p.Stderr.String()
	if code != 69 {
		t.Fatalf("exit %d, want 69", code)
	}
	if _, err := os.Stat(started); !os.IsNotExist(err) {
		t.Fatalf("the app started: %v", err)
	}
	for _, w := range []string{"XINIT_REQUIRE_GPU=1: the app's only Vulkan device is software", "llvmpipe", "NVIDIA_DRIVER_CAPABILITIES", "VK_DRIVER_FILES", "required service gl failed"} {
		if !strings.Contains(log, w) {
			t.Errorf("the log lacks %q", w)
		}
	}
	if strings.Contains(log, "the app's GL renderer is software") {
		t.Error("the log blames GL, which answered from the GPU")
	}
}

func TestGLRendererReported(t *testing.T) {
	started := filepath.Join(t.TempDir(), "app-started")
	s := startX(t, "xvfb", nil, helperCmd("append", started, "app"))
	s.waitReady()
	var doc struct {
		GL *struct {
			Renderer, Vendor, Version string
			Direct, Software          bool
			Vulkan                    *struct {
				Devices  []struct{ Name, Type, Driver string }
				Software bool
			}
		} `json:"gl"`
		Services []struct{ Name, State string } `json:"services"`
	}
	// The probe's answer reaches /status as it writes it, a moment before the
	// probe has exited: wait for both.
	glState := func() string {
		for _, sv := range doc.Services {
			if sv.Name == "gl" {
				return sv.State
			}
		}
		return ""
	}
	testutil.Eventually(t, 30*time.Second, "/status to show the GL renderer and the probe ended", func() bool {
		_, body := s.get("/status")
		doc.GL, doc.Services = nil, nil
		_ = json.Unmarshal([]byte(body), &doc)
		st := glState()
		return doc.GL != nil && st != "starting" && st != "ready"
	})
	g := doc.GL
	if !strings.Contains(g.Renderer, "llvmpipe") || !g.Software || !strings.Contains(g.Version, "Mesa") || g.Vendor == "" {
		t.Errorf("gl %+v", g)
	}
	// /status lists the Vulkan devices the app sees: lavapipe, a CPU.
	if v := g.Vulkan; v == nil || len(v.Devices) == 0 || v.Devices[0].Type != "cpu" || !strings.Contains(v.Devices[0].Name, "llvmpipe") || !v.Software {
		t.Errorf("gl.vulkan %+v, want lavapipe as a cpu device", v)
	}
	if st := glState(); st != "done" {
		t.Errorf("gl is %q, want done", st)
	}
	_, metrics := s.get("/metrics")
	if !strings.Contains(metrics, `xinit_gl_renderer_info{renderer="llvmpipe`) || !strings.Contains(metrics, `software="true"`) {
		t.Errorf("metrics lack the renderer:\n%s", metrics)
	}
	testutil.Eventually(t, 20*time.Second, "the app's start", func() bool {
		_, err := os.Stat(started)
		return err == nil
	})
	if log := s.p.Stderr.String(); !strings.Contains(log, "GL renderer is software") {
		t.Error("the log does not say the renderer is software")
	}
	s.p.Signal(syscall.SIGTERM)
	if c := s.p.Wait(30 * time.Second); c != 0 {
		t.Errorf("exit %d, want 0 (the app's own on SIGTERM)", c)
	}
}
