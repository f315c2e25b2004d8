package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/xinit-go/xinit-go/glprobe"
	"github.com/xinit-go/xinit-go/health"
	"github.com/xinit-go/xinit-go/session"
)

// glxinfoTimeout is shorter than the service's ready timeout, so that a GL
// driver that hangs is reported by the probe, in words, before it is killed.
const glxinfoTimeout = glprobe.Timeout - 5*time.Second

// runProbeGL is `xinit-go probe-gl`, the GL renderer probe (not listed in the
// usage: the session runs it as its "gl" service). It is a child of PID 1, not
// PID 1, so it may wait for its own child: it runs `glxinfo -B` with the
// environment the session gave it (the app's: DISPLAY, XAUTHORITY, the GLX
// vendor rule), writes the result as JSON to --out (atomically; - for a line on
// standard output, which is how the session reads it), and exits 0,
// or 69 with --require-gpu when the renderer is software or unknown.
func runProbeGL(ctx context.Context, args []string, sys system, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("probe-gl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write the result here as JSON; - prints it as one line on standard output, after \""+glprobe.ResultPrefix+"\"")
	require := fs.Bool("require-gpu", false, "exit 69 when the renderer is software")
	why := fs.String("glx-why", "", "why the session chose this GLX vendor, for the message")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	ctx, cancel := context.WithTimeout(ctx, glxinfoTimeout)
	defer cancel()
	r := probeGL(ctx, sys)
	v := probeVulkan(ctx)
	r.Vulkan = &v
	if *out == "-" {
		b, err := json.Marshal(r)
		if err == nil {
			_, err = fmt.Fprintf(stdout, "%s%s\n", glprobe.ResultPrefix, b)
		}
		if err != nil {
			fmt.Fprintln(stderr, "probe-gl:", err)
			if !*require {
				return 1
			}
		}
	} else if *out != "" {
		if err := writeJSONAtomic(*out, r); err != nil {
			fmt.Fprintln(stderr, "probe-gl:", err)
			if !*require {
				return 1
			}
		}
	}
	switch {
	case r.Error != "" && *require:
		fmt.Fprintf(stderr, "XINIT_REQUIRE_GPU=1: cannot tell the app's GL renderer: %s; install mesa-utils (glxinfo) in the image, or unset XINIT_REQUIRE_GPU\n", r.Error)
		return glprobe.ExitSoftware
	case r.Error != "":
		fmt.Fprintln(stderr, "GL renderer unknown:", r.Error)
	case r.Software && *require:
		fmt.Fprintln(stderr, glprobe.SoftwareAdvice(r, *why))
		if v.Software {
			fmt.Fprintln(stderr, glprobe.VulkanSoftwareAdvice(v, nvidiaICD(sys)))
		}
		return glprobe.ExitSoftware
	case v.Software && *require:
		fmt.Fprintln(stderr, glprobe.VulkanSoftwareAdvice(v, nvidiaICD(sys)))
		return glprobe.ExitSoftware
	default:
		fmt.Fprintf(stdout, "GL renderer %q, vendor %q, version %q, direct %v\n", r.Renderer, r.Vendor, r.Version, r.Direct)
	}
	return 0
}

// vulkaninfoTimeout bounds the Vulkan half of the probe (vulkaninfo --summary
// takes a fraction of a second; the bound is for a driver that hangs).
const vulkaninfoTimeout = 5 * time.Second

// probeVulkan lists the Vulkan devices the app would see, with
// `vulkaninfo --summary` in the app's environment. Without vulkaninfo it says
// so: the app may not use Vulkan, and nothing is required of it then.
func probeVulkan(ctx context.Context) glprobe.VulkanResult {
	vi, err := exec.LookPath("vulkaninfo")
	if err != nil {
		return glprobe.VulkanResult{Error: "vulkaninfo not found in PATH (Debian and Ubuntu: vulkan-tools): the Vulkan devices are unknown"}
	}
	ctx, cancel := context.WithTimeout(ctx, vulkaninfoTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, vi, "--summary")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	r := glprobe.ParseVulkanInfo(o.String())
	switch {
	case ctx.Err() != nil:
		r = glprobe.VulkanResult{Error: fmt.Sprintf("vulkaninfo --summary did not finish within %s", vulkaninfoTimeout)}
	case len(r.Devices) == 0:
		msg := strings.TrimSpace(e.String() + " " + o.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		r.Error = "no Vulkan device"
		if err != nil {
			r.Error += fmt.Sprintf(" (vulkaninfo: %v)", err)
		}
		if msg != "" {
			r.Error += ": " + msg
		}
	}
	return r
}

// nvidiaICD is NVIDIA's Vulkan ICD manifest as the loader would find it in the
// probe's (the app's) environment, "" when there is none.
func nvidiaICD(sys system) string {
	if sys.vulkan == nil {
		return ""
	}
	return sys.vulkan(sys.environ).NvidiaICD
}

func probeGL(ctx context.Context, sys system) glprobe.Result {
	start := time.Now()
	var r glprobe.Result
	glxinfo, err := exec.LookPath("glxinfo")
	if err != nil {
		r.Error = "glxinfo not found in PATH (Debian and Ubuntu: mesa-utils)"
		return r
	}
	cmd := exec.CommandContext(ctx, glxinfo, "-B")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	took := time.Since(start)
	r, perr := glprobe.ParseGLXInfo(o.String())
	r.TookMS = float64(took.Microseconds()) / 1000
	r.GLXVendor = sys.getenv("__GLX_VENDOR_LIBRARY_NAME")
	r.UID = os.Getuid()
	switch {
	case ctx.Err() != nil:
		r.Error = fmt.Sprintf("glxinfo -B did not finish within %s", glxinfoTimeout)
	case err != nil || perr != nil:
		msg := strings.TrimSpace(e.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		r.Error = fmt.Sprintf("glxinfo -B: %v", errors.Join(err, perr))
		if msg != "" {
			r.Error += ": " + msg
		}
	}
	return r
}

// writeJSONAtomic writes v to path through a temporary file in the same
// directory and a rename: a reader sees the whole result or none.
func writeJSONAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// glStatus is the probe's result as /status shows it.
func glStatus(sess *session.Session) func() *health.GL {
	return func() *health.GL {
		r := sess.GL()
		if r == nil {
			return nil
		}
		g := &health.GL{Renderer: r.Renderer, Vendor: r.Vendor, Version: r.Version, Direct: r.Direct,
			Software: r.Software, Library: r.Library, Error: r.Error, Required: sess.GLRequired()}
		if v := r.Vulkan; v != nil {
			g.Vulkan = &health.Vulkan{Software: v.Software, Error: v.Error, Devices: []health.VulkanDevice{}}
			for _, d := range v.Devices {
				g.Vulkan.Devices = append(g.Vulkan.Devices, health.VulkanDevice{Name: d.Name, Type: d.Type, Driver: d.Driver})
			}
		}
		return g
	}
}
