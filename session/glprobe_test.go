package session

import (
	"encoding/json"
	"slices"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/xinit-go/xinit-go/glprobe"
	"github.com/xinit-go/xinit-go/gpu"
	"github.com/xinit-go/xinit-go/supervisor"
)

func specNamed(t *testing.T, s *Session, name string) supervisor.Spec {
	t.Helper()
	for _, sp := range s.Specs {
		if sp.Name == name {
			return sp
		}
	}
	t.Fatalf("no service %q", name)
	return supervisor.Spec{}
}

func TestGLProbeSpec(t *testing.T) {
	for _, require := range []bool{false, true} {
		kv := []string{"XINIT_BACKEND=xvfb"}
		if require {
			kv = append(kv, "XINIT_REQUIRE_GPU=1")
		}
		c := cfg(t, kv...)
		e := env(fakeGPU{info: h200}, t.TempDir(), true, "PATH=/usr/bin")
		p, err := Decide(c, e)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Build(c, p, e, zaptest.NewLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		gl, app := specNamed(t, s, glprobe.Name), specNamed(t, s, AppName)
		if !gl.Oneshot || gl.Ready != nil || gl.ReadyTimeout != glprobe.Timeout || !slices.Equal(gl.After, []string{XName}) || gl.Credential != app.Credential {
			t.Errorf("gl %+v", gl)
		}
		if gl.Argv[1] != "probe-gl" || !slices.Equal(gl.Argv[2:4], []string{"--out", "-"}) || slices.Contains(gl.Argv, "--require-gpu") != require {
			t.Errorf("argv %q", gl.Argv)
		}
		for _, kv := range []string{"DISPLAY=:0", "XAUTHORITY=" + s.XAuthority, "__GLX_VENDOR_LIBRARY_NAME=nvidia"} {
			if !slices.Contains(gl.Env, kv) || !slices.Contains(app.Env, kv) {
				t.Errorf("%s missing from the probe's or the app's environment", kv)
			}
		}
		if require {
			if gl.Role != supervisor.Required || gl.FailCode != glprobe.ExitSoftware || !slices.Equal(app.After, []string{XName, glprobe.Name}) {
				t.Errorf("required: gl %v %d, app after %v", gl.Role, gl.FailCode, app.After)
			}
		} else if gl.Role != supervisor.Optional || gl.FailCode != 0 || !slices.Equal(app.After, []string{XName}) {
			t.Errorf("not required: gl %v %d, app after %v", gl.Role, gl.FailCode, app.After)
		}
		if err := supervisor.Validate(s.Specs); err != nil {
			t.Fatal(err)
		}
		if s.GL() != nil {
			t.Fatal("a result before any run")
		}
		// The result line reaches GL(); other lines are the log's, and a line
		// that is not a result changes nothing.
		want := glprobe.Result{Renderer: "NVIDIA H200/PCIe/SSE2", Vendor: "NVIDIA Corporation", Direct: true}
		b, _ := json.Marshal(want)
		gl.Output("GL renderer \"NVIDIA H200/PCIe/SSE2\"")
		gl.Output(glprobe.ResultPrefix + "{not json")
		if s.GL() != nil {
			t.Fatal("a result from lines that are none")
		}
		gl.Output(glprobe.ResultPrefix + string(b))
		if got := s.GL(); got == nil || *got != want {
			t.Fatalf("GL() = %+v", got)
		}
	}
}

func TestNoGLProbeWithoutX(t *testing.T) {
	c := cfg(t, "XINIT_BACKEND=none")
	e := env(fakeGPU{err: gpu.ErrNoGPU}, t.TempDir(), false)
	p, _ := Decide(c, e)
	s, err := Build(c, p, e, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range s.Specs {
		if sp.Name == glprobe.Name {
			t.Fatal("a GL probe without a display")
		}
	}
	if s.GL() != nil {
		t.Fatal("a result without a probe")
	}
}
