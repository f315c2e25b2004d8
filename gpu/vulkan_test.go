package gpu

import (
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindVulkan(t *testing.T) {
	dir := t.TempDir()
	icd, layers, extra := filepath.Join(dir, "icd.d"), filepath.Join(dir, "layers"), filepath.Join(dir, "build")
	write(t, filepath.Join(icd, "lvp_icd.x86_64.json"), `{"ICD": {"library_path": "/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so"}}`)
	write(t, filepath.Join(layers, "VkLayer_khronos_validation.json"), `{"layer": {"name": "VK_LAYER_KHRONOS_validation", "library_path": "libVkLayer_khronos_validation.so"}}`)
	// a manifest whose library is missing does not count
	write(t, filepath.Join(extra, "VkLayer_xinit_present.json"), `{"layer": {"name": "VK_LAYER_XINIT_present", "library_path": "./libVkLayer_xinit_present.so"}}`)

	if v := findVulkan(nil, []string{icd}, []string{layers}); v != (Vulkan{}) {
		t.Fatalf("lavapipe and the validation layer only: got %+v, want nothing", v)
	}
	env := []string{"VK_ADD_LAYER_PATH=" + extra}
	if v := findVulkan(env, []string{icd}, []string{layers}); v.Layer != "" {
		t.Fatalf("layer without its library: got %q", v.Layer)
	}
	write(t, filepath.Join(extra, "libVkLayer_xinit_present.so"), "")
	write(t, filepath.Join(icd, "nvidia_icd.json"), `{"file_format_version": "1.0.0", "ICD": {"library_path": "libGLX_nvidia.so.0", "api_version": "1.4.312"}}`)
	v := findVulkan(env, []string{icd}, []string{layers})
	if v.NvidiaICD != filepath.Join(icd, "nvidia_icd.json") || v.Layer != filepath.Join(extra, "VkLayer_xinit_present.json") {
		t.Fatalf("got %+v", v)
	}
	// VK_DRIVER_FILES replaces the directories, as it does for the loader
	v = findVulkan([]string{"VK_DRIVER_FILES=" + filepath.Join(icd, "lvp_icd.x86_64.json")}, []string{icd}, []string{layers})
	if v.NvidiaICD != "" {
		t.Fatalf("VK_DRIVER_FILES names lavapipe only, got NVIDIA %q", v.NvidiaICD)
	}
}
