package gpu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNvidiaEGLAndVulkanICD(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("50_mesa.json", `{"file_format_version":"1.0.0","ICD":{"library_path":"libEGL_mesa.so.0"}}`)
	nv := write("10_nvidia.json", `{"file_format_version":"1.0.0","ICD":{"library_path":"/nonexistent/libEGL_nvidia.so.0"}}`)
	l := NvidiaEGL([]string{"__EGL_VENDOR_LIBRARY_DIRS=" + dir})
	if l.Loads || l.Manifest != nv || !strings.Contains(l.Path, "/nonexistent/libEGL_nvidia.so.0") {
		t.Errorf("EGL %+v", l)
	}
	// A library every Linux machine has stands in for NVIDIA's ICD.
	icd := write("nvidia_icd.json", `{"file_format_version":"1.0.0","ICD":{"library_path":"libc.so.6","api_version":"1.4.312"}}`)
	if l := NvidiaVulkanICD(icd); !l.Loads || !strings.Contains(l.Path, "libc") || l.Manifest != icd {
		t.Errorf("Vulkan %+v", l)
	}
	if l := NvidiaVulkanICD(""); l.Loads || !strings.Contains(l.Path, "no NVIDIA Vulkan ICD") {
		t.Errorf("no manifest: %+v", l)
	}
}
