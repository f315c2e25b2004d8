package glprobe

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTools puts stand-in glxinfo and vulkaninfo first in PATH for the test.
func fakeTools(t *testing.T, glxinfo, vulkaninfo string) {
	t.Helper()
	dir := t.TempDir()
	for name, out := range map[string]string{"glxinfo": glxinfo, "vulkaninfo": vulkaninfo} {
		if out == "" {
			continue
		}
		f := filepath.Join(dir, name+".out")
		if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\nexec /bin/cat '"+f+"'\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
}

const nvidiaGLX = "direct rendering: Yes\nOpenGL vendor string: NVIDIA Corporation\nOpenGL renderer string: NVIDIA H200/PCIe/SSE2\nOpenGL version string: 4.6.0 NVIDIA 580.159.04\n"
const mesaGLX = "direct rendering: Yes\nOpenGL vendor string: Mesa\nOpenGL renderer string: llvmpipe (LLVM 15.0.6, 256 bits)\nOpenGL version string: 4.5 (Compatibility Profile) Mesa 22.3.6\n"

// TestRun: the probe's decisions, with stand-in tools: the code, what it
// prints, and the result line the session reads.
func TestRun(t *testing.T) {
	for _, c := range []struct {
		name, glx, vk string
		require       bool
		code          int
		stderr        string
	}{
		{"GPU GL, GPU Vulkan, required", nvidiaGLX, h200Summary, true, 0, ""},
		{"GPU GL, lavapipe only, required", nvidiaGLX, lavapipeSummary, true, ExitSoftware, "only Vulkan device is software"},
		{"software GL, not required", mesaGLX, lavapipeSummary, false, 0, ""},
		{"software GL, required", mesaGLX, "", true, ExitSoftware, "GL renderer is software"},
		{"no glxinfo, required", "", "", true, ExitSoftware, "cannot tell the app's GL renderer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fakeTools(t, c.glx, c.vk)
			var out, errs bytes.Buffer
			code := Run(context.Background(), RunOptions{Out: "-", Require: c.require}, &out, &errs)
			if code != c.code || !strings.Contains(errs.String(), c.stderr) {
				t.Fatalf("exit %d, want %d; stderr %q, want %q", code, c.code, errs.String(), c.stderr)
			}
			line, ok := strings.CutPrefix(strings.SplitN(out.String(), "\n", 2)[0], ResultPrefix)
			var r Result
			if !ok || json.Unmarshal([]byte(line), &r) != nil || r.Vulkan == nil {
				t.Fatalf("no result line: %q", out.String())
			}
		})
	}
}
