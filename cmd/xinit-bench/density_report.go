package main

import (
	"fmt"
	"image/color"
	"io"
	"os"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// write prints the tables, and writes them to md and the plot to png when named.
func (r densityReport) write(stdout io.Writer, md, png string) error {
	var sb strings.Builder
	r.markdown(&sb)
	if _, err := io.WriteString(stdout, sb.String()); err != nil {
		return err
	}
	if md != "" {
		if err := os.WriteFile(md, []byte(sb.String()), 0o644); err != nil {
			return err
		}
	}
	if png != "" {
		return r.plot(png)
	}
	return nil
}

func (r densityReport) markdown(w io.Writer) {
	vnc := "x11vnc in every session (no viewer connected)"
	if !r.VNC {
		vnc = "no x11vnc"
	}
	fmt.Fprintf(w, "Date: %s. Machine: %s", r.Date, r.Machine)
	if r.GPU != "" {
		fmt.Fprintf(w, "; GPU: %s", r.GPU)
	}
	fmt.Fprintf(w, ". Every session: xinit-go as PID 1 of its own PID namespace, backend %s at %s, %s, its own display, ports and runtime directory; all N started at once. Measured over a %.0f s window (longer until every app had reported a frame count inside it), %g FPS the floor.\n\n", r.Backend, r.Res, vnc, r.WindowS, r.MinFPS)
	if len(r.Env) > 0 {
		fmt.Fprintf(w, "Every session's environment also had `%s`.\n\n", strings.Join(r.Env, " "))
	}
	fmt.Fprintf(w, "Command: `%s`\n\n", r.Command)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "**%s.**\n\n", n)
	}
	for _, wl := range r.Workload {
		fmt.Fprintf(w, "#### %s\n\nApp: `%s`. %s.\n\n", wl.Name, wl.Command, upperFirst(wl.Stopped))
		fmt.Fprintf(w, "| sessions | app FPS per session: median (min-max) | FPS, all sessions | ready ms: median (max) | CPU per session, %% of a core: xinit-go / X / app / x11vnc / other | CPU per session | host CPU busy | host memory per session (MB) | PSS per session (MB) | GPU busy | GPU memory per session (MiB) |\n")
		fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, s := range r.Steps {
			if s.Workload != wl.Name {
				continue
			}
			s.row(w)
		}
		fmt.Fprintf(w, "\n%s\n\n", r.capacity(wl.Name))
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (s densityStep) row(w io.Writer) {
	var fps, ready []float64
	cpu := map[string][]float64{}
	var tot, pss []float64
	sum := 0.0
	for _, x := range s.Sessions {
		fps = append(fps, x.FPS)
		sum += x.FPS
		ready = append(ready, x.ReadyMS)
		t := 0.0
		for _, c := range classes {
			cpu[c] = append(cpu[c], x.CPU[c])
			t += x.CPU[c]
		}
		tot = append(tot, t)
		pss = append(pss, x.PSSMB)
	}
	if s.Err != "" {
		fmt.Fprintf(w, "| %d | failed: %s | | | | | | | | | |\n", s.N, strings.ReplaceAll(s.Err, "|", "/"))
		return
	}
	var parts []string
	for _, c := range classes {
		parts = append(parts, fmt.Sprintf("%.1f", medianOf(cpu[c])))
	}
	gpuUtil, gpuMem := "-", "-"
	if s.GPUUtil != nil {
		gpuUtil = fmt.Sprintf("%.0f%%", *s.GPUUtil)
	}
	if s.GPUMemMiB != nil {
		gpuMem = fmt.Sprintf("%.0f", *s.GPUMemMiB/float64(s.N))
	}
	fmt.Fprintf(w, "| %d | %.0f (%.0f-%.0f) | %.0f | %.0f (%.0f) | %s | %.0f%% | %.0f%% of %d cores | %.0f | %.0f | %s | %s |\n",
		s.N, medianOf(fps), minOf(fps), maxOf(fps), sum, medianOf(ready), maxOf(ready), strings.Join(parts, " / "),
		medianOf(tot), s.HostCPU, s.HostCores, s.MemMB/float64(s.N), medianOf(pss), gpuUtil, gpuMem)
}

// capacity says how many sessions ran with every one at 60 and at 30 FPS or more.
func (r densityReport) capacity(workload string) string {
	at := func(floor float64) string {
		best := 0
		for _, s := range r.Steps {
			if s.Workload != workload || s.Err != "" || len(s.Sessions) == 0 {
				continue
			}
			var fps []float64
			for _, x := range s.Sessions {
				fps = append(fps, x.FPS)
			}
			if minOf(fps) >= floor && s.N > best {
				best = s.N
			}
		}
		if best == 0 {
			return "none measured"
		}
		return fmt.Sprintf("%d", best)
	}
	return fmt.Sprintf("Most sessions measured with every one at 60 FPS or more: %s; at 30 FPS or more: %s.", at(60), at(30))
}

func minOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		if x > m {
			m = x
		}
	}
	return m
}

// plot draws the median session's frame rate against the number of sessions,
// a line per workload, on log scales, with the 30 and 60 FPS floors.
func (r densityReport) plot(path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Sessions at once, %s, %s", r.Res, firstNonEmpty(r.GPU, r.Machine))
	p.X.Label.Text = "sessions at once"
	p.Y.Label.Text = "app FPS per session (median)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	var xt []plot.Tick
	for _, s := range r.Steps {
		if !hasTick(xt, float64(s.N)) {
			xt = append(xt, plot.Tick{Value: float64(s.N), Label: fmt.Sprint(s.N)})
		}
	}
	var yt []plot.Tick
	for _, v := range []float64{10, 20, 30, 60, 100, 200, 300, 600, 1000, 2000, 3000, 6000} {
		yt = append(yt, plot.Tick{Value: v, Label: fmt.Sprint(v)})
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.ConstantTicks(xt), plot.ConstantTicks(yt)
	p.Legend.Top = true
	maxN := 2
	var args []any
	for _, wl := range r.Workload {
		var pts plotter.XYs
		for _, s := range r.Steps {
			if s.Workload == wl.Name && s.Err == "" && s.medianFPS() > 0 {
				pts = append(pts, plotter.XY{X: float64(s.N), Y: s.medianFPS()})
				if s.N > maxN {
					maxN = s.N
				}
			}
		}
		if len(pts) > 0 {
			args = append(args, wl.Name, pts)
		}
	}
	if len(args) == 0 {
		return fmt.Errorf("plot: no step with a frame rate")
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	for _, floor := range []float64{30, 60} {
		l, err := plotter.NewLine(plotter.XYs{{X: 1, Y: floor}, {X: float64(maxN), Y: floor}})
		if err != nil {
			return err
		}
		l.Color = color.Gray{Y: 128}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
		p.Add(l)
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

func hasTick(ts []plot.Tick, v float64) bool {
	for _, t := range ts {
		if t.Value == v {
			return true
		}
	}
	return false
}
