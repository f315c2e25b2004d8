package glprobe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// glxinfoTimeout is shorter than the service's ready timeout, so that a GL
// driver that hangs is reported by the probe, in words, before it is killed.
const glxinfoTimeout = Timeout - 5*time.Second

// RunOptions are `xinit-go probe-gl`'s flags and what it reads of its
// environment.
type RunOptions struct {
	// Out is where the result goes as JSON: a file (written atomically), or -
	// for one line on standard output after ResultPrefix (how the session
	// reads it); "" writes none.
	Out string
	// Require: a software or unknown renderer is exit ExitSoftware.
	Require bool
	// GLXWhy says why the session chose the GLX vendor, for the message.
	GLXWhy string
	// GLXVendor is __GLX_VENDOR_LIBRARY_NAME in the environment, "" unset.
	GLXVendor string
	// NvidiaICD is NVIDIA's Vulkan ICD manifest as the loader would find it, ""
	// when none, for the message.
	NvidiaICD func() string
}

// Run is the probe: it runs `glxinfo -B` and `vulkaninfo --summary` with the
// environment it was given (the app's), reports the result as RunOptions.Out
// says, and returns the exit code: 0, 1 when the result could not be written,
// or ExitSoftware under Require when the renderer is software or unknown. It
// is a child of PID 1, not PID 1, so it may wait for its own children.
func Run(ctx context.Context, o RunOptions, stdout, stderr io.Writer) int {
	nvidiaICD := func() string {
		if o.NvidiaICD == nil {
			return ""
		}
		return o.NvidiaICD()
	}
	ctx, cancel := context.WithTimeout(ctx, glxinfoTimeout)
	defer cancel()
	r := probeGL(ctx, o.GLXVendor)
	v := probeVulkan(ctx)
	r.Vulkan = &v
	if o.Out == "-" {
		b, err := json.Marshal(r)
		if err == nil {
			_, err = fmt.Fprintf(stdout, "%s%s\n", ResultPrefix, b)
		}
		if err != nil {
			fmt.Fprintln(stderr, "probe-gl:", err)
			if !o.Require {
				return 1
			}
		}
	} else if o.Out != "" {
		if err := writeJSONAtomic(o.Out, r); err != nil {
			fmt.Fprintln(stderr, "probe-gl:", err)
			if !o.Require {
				return 1
			}
		}
	}
	switch {
	case r.Error != "" && o.Require:
		fmt.Fprintf(stderr, "XINIT_REQUIRE_GPU=1: cannot tell the app's GL renderer: %s; install mesa-utils (glxinfo) in the image, or unset XINIT_REQUIRE_GPU\n", r.Error)
		return ExitSoftware
	case r.Error != "":
		fmt.Fprintln(stderr, "GL renderer unknown:", r.Error)
	case r.Software && o.Require:
		fmt.Fprintln(stderr, SoftwareAdvice(r, o.GLXWhy))
		if v.Software {
			fmt.Fprintln(stderr, VulkanSoftwareAdvice(v, nvidiaICD()))
		}
		return ExitSoftware
	case v.Software && o.Require:
		fmt.Fprintln(stderr, VulkanSoftwareAdvice(v, nvidiaICD()))
		return ExitSoftware
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
func probeVulkan(ctx context.Context) VulkanResult {
	vi, err := exec.LookPath("vulkaninfo")
	if err != nil {
		return VulkanResult{Error: "vulkaninfo not found in PATH (Debian and Ubuntu: vulkan-tools): the Vulkan devices are unknown"}
	}
	ctx, cancel := context.WithTimeout(ctx, vulkaninfoTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, vi, "--summary")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	r := ParseVulkanInfo(o.String())
	switch {
	case ctx.Err() != nil:
		r = VulkanResult{Error: fmt.Sprintf("vulkaninfo --summary did not finish within %s", vulkaninfoTimeout)}
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

func probeGL(ctx context.Context, glxVendor string) Result {
	start := time.Now()
	var r Result
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
	r, perr := ParseGLXInfo(o.String())
	r.TookMS = float64(took.Microseconds()) / 1000
	r.GLXVendor = glxVendor
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
