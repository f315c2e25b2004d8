package main

import (
	"bufio"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// gpuSample is one reading of NVML through nvidia-smi: utilization in percent of
// the sample period (the share of time a kernel or graphics work ran), memory
// used in MiB.
type gpuSample struct {
	at      time.Time
	util    float64
	memMiB  float64
	totalMi float64
}

// parseGPULine reads nvidia-smi's "--query-gpu=utilization.gpu,memory.used,memory.total
// --format=csv,noheader,nounits" line: "37, 1234, 143771".
func parseGPULine(at time.Time, s string) (gpuSample, bool) {
	f := strings.Split(s, ",")
	if len(f) != 3 {
		return gpuSample{}, false
	}
	var v [3]float64
	for i := range f {
		n, err := strconv.ParseFloat(strings.TrimSpace(f[i]), 64)
		if err != nil {
			return gpuSample{}, false
		}
		v[i] = n
	}
	return gpuSample{at: at, util: v[0], memMiB: v[1], totalMi: v[2]}, true
}

const gpuQuery = "--query-gpu=utilization.gpu,memory.used,memory.total"

// gpuSampler runs nvidia-smi every 500 ms for the life of its context and keeps
// the samples of the first GPU. Without nvidia-smi it holds none.
type gpuSampler struct {
	mu      sync.Mutex
	samples []gpuSample
	done    chan struct{}
}

func startGPUSampler(ctx context.Context) *gpuSampler {
	g := &gpuSampler{done: make(chan struct{})}
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		close(g.done)
		return g
	}
	cmd := exec.CommandContext(ctx, path, gpuQuery, "--format=csv,noheader,nounits", "-i", "0", "-lms", "500")
	out, err := cmd.StdoutPipe()
	if err != nil || cmd.Start() != nil {
		close(g.done)
		return g
	}
	go func() {
		defer close(g.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if s, ok := parseGPULine(time.Now(), sc.Text()); ok {
				g.mu.Lock()
				g.samples = append(g.samples, s)
				g.mu.Unlock()
			}
		}
		_ = cmd.Wait()
	}()
	return g
}

// wait returns once nvidia-smi has ended (its context ended).
func (g *gpuSampler) wait() { <-g.done }

// between averages utilization and takes the peak memory over the samples taken
// from from to to; ok is false when there are none.
func (g *gpuSampler) between(from, to time.Time) (util, memMiB float64, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, s := range g.samples {
		if s.at.Before(from) || s.at.After(to) {
			continue
		}
		util += s.util
		if s.memMiB > memMiB {
			memMiB = s.memMiB
		}
		n++
	}
	if n == 0 {
		return 0, 0, false
	}
	return util / float64(n), memMiB, true
}

// gpuNow reads the first GPU's memory used once: the baseline before sessions start.
func gpuNow() (gpuSample, bool) {
	out, err := exec.Command("nvidia-smi", gpuQuery, "--format=csv,noheader,nounits", "-i", "0").Output()
	if err != nil {
		return gpuSample{}, false
	}
	return parseGPULine(time.Now(), strings.TrimSpace(string(out)))
}

// gpuName is the first GPU's name and driver, or "" without nvidia-smi.
func gpuName() string {
	out, err := exec.Command("nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader", "-i", "0").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
