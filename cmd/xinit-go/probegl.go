package main

import (
	"context"
	"flag"
	"io"

	"github.com/xinit-go/xinit-go/glprobe"
	"github.com/xinit-go/xinit-go/health"
	"github.com/xinit-go/xinit-go/session"
)

// runProbeGL is `xinit-go probe-gl`, the GL renderer probe (not listed in the
// usage: the session runs it as its "gl" service, as the app runs): glprobe.Run.
func runProbeGL(ctx context.Context, args []string, sys system, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("probe-gl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write the result here as JSON; - prints it as one line on standard output, after \""+glprobe.ResultPrefix+"\"")
	require := fs.Bool("require-gpu", false, "exit 69 when the renderer is software")
	why := fs.String("glx-why", "", "why the session chose this GLX vendor, for the message")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	return glprobe.Run(ctx, glprobe.RunOptions{Out: *out, Require: *require, GLXWhy: *why,
		GLXVendor: sys.getenv("__GLX_VENDOR_LIBRARY_NAME"),
		NvidiaICD: func() string {
			if sys.vulkan == nil {
				return ""
			}
			return sys.vulkan(sys.environ).NvidiaICD
		}}, stdout, stderr)
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
