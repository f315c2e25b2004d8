package glprobe

import (
	"strings"
	"testing"
)

// Debian 12's glxinfo -B under Xvfb, with Mesa's llvmpipe.
const glxinfoMesa = `name of display: :568
display: :568  screen: 0
direct rendering: Yes
Extended renderer info (GLX_MESA_query_renderer):
    Vendor: Mesa/X.org (0xffffffff)
    Device: llvmpipe (LLVM 15.0.6, 256 bits) (0xffffffff)
    Version: 22.3.6
    Accelerated: no
OpenGL vendor string: Mesa/X.org
OpenGL renderer string: llvmpipe (LLVM 15.0.6, 256 bits)
OpenGL core profile version string: 4.5 (Core Profile) Mesa 22.3.6
OpenGL core profile shading language version string: 4.50

OpenGL version string: 4.5 (Compatibility Profile) Mesa 22.3.6
OpenGL shading language version string: 4.50
`

// glxinfo -B under Xvfb on an H200 with __GLX_VENDOR_LIBRARY_NAME=nvidia.
const glxinfoNvidia = `name of display: :0
display: :0  screen: 0
direct rendering: Yes
Memory info (GL_NVX_gpu_memory_info):
    Dedicated video memory: 143771 MB
OpenGL vendor string: NVIDIA Corporation
OpenGL renderer string: NVIDIA H200/PCIe/SSE2
OpenGL core profile version string: 4.6.0 NVIDIA 580.159.04
OpenGL version string: 4.6.0 NVIDIA 580.159.04
`

func TestParseGLXInfo(t *testing.T) {
	cases := []struct {
		out  string
		want Result
	}{
		{glxinfoMesa, Result{Renderer: "llvmpipe (LLVM 15.0.6, 256 bits)", Vendor: "Mesa/X.org",
			Version: "4.5 (Compatibility Profile) Mesa 22.3.6", Direct: true, Software: true, Library: "libGLX_mesa.so.0"}},
		{glxinfoNvidia, Result{Renderer: "NVIDIA H200/PCIe/SSE2", Vendor: "NVIDIA Corporation",
			Version: "4.6.0 NVIDIA 580.159.04", Direct: true, Library: "libGLX_nvidia.so.0"}},
		{"direct rendering: No (If you want to find out why, try setting LIBGL_DEBUG=verbose)\nOpenGL vendor string: Mesa\n" +
			"OpenGL renderer string: softpipe\nOpenGL core profile version string: 3.3 (Core Profile) Mesa 22.3.6\n",
			Result{Renderer: "softpipe", Vendor: "Mesa", Version: "3.3 (Core Profile) Mesa 22.3.6", Software: true, Library: "libGLX_mesa.so.0"}},
	}
	for _, c := range cases {
		got, err := ParseGLXInfo(c.out)
		if err != nil || got != c.want {
			t.Errorf("got %+v, %v\nwant %+v", got, err, c.want)
		}
	}
	if _, err := ParseGLXInfo("Error: unable to open display :9\n"); err == nil {
		t.Error("no renderer, no error")
	}
}

func TestIsSoftwareRenderer(t *testing.T) {
	for r, want := range map[string]bool{
		"llvmpipe (LLVM 15.0.6, 256 bits)": true,
		"softpipe":                         true,
		"Software Rasterizer":              true,
		"Mesa X11 swrast":                  true,
		"Mesa OffScreen":                   true,
		"NVIDIA H200/PCIe/SSE2":            false,
		"AMD Radeon RX 7900 XTX (radeonsi, navi31, LLVM 15.0.6, DRM 3.54)": false,
		"Mesa Intel(R) UHD Graphics 630 (CFL GT2)":                         false,
	} {
		if got := isSoftwareRenderer(r); got != want {
			t.Errorf("%q: %v, want %v", r, got, want)
		}
	}
}

func TestSoftwareAdvice(t *testing.T) {
	r, _ := ParseGLXInfo(glxinfoMesa)
	for _, c := range []struct {
		vendor string
		want   []string
	}{
		{"", []string{"llvmpipe", "libGLX_mesa.so.0", "__GLX_VENDOR_LIBRARY_NAME is unset", "no NVIDIA GPU", "NVIDIA_DRIVER_CAPABILITIES", "unset XINIT_REQUIRE_GPU"}},
		{"nvidia", []string{"__GLX_VENDOR_LIBRARY_NAME=nvidia, but libGLX_nvidia.so.0 did not load"}},
		{"mesa", []string{"__GLX_VENDOR_LIBRARY_NAME=mesa selects that library", "unset or nvidia"}},
	} {
		r.GLXVendor = c.vendor
		msg := SoftwareAdvice(r, "no NVIDIA GPU (NVML: not found)")
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%q: %q lacks %q", c.vendor, msg, w)
			}
		}
	}
}
