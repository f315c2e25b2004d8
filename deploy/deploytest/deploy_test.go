package deploytest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const root = "../.."

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) < 2 {
		t.Fatalf("want a build stage and a runtime stage, got %d", len(stages))
	}
	rt := stages[len(stages)-1]
	if rt.Name != "runtime" {
		t.Errorf("the last stage is %q, want runtime", rt.Name)
	}
	var entry *instructions.EntrypointCommand
	var health *instructions.HealthCheckCommand
	envs := map[string]string{}
	ranPackages := false
	for _, c := range rt.Commands {
		switch c := c.(type) {
		case *instructions.EntrypointCommand:
			entry = c
		case *instructions.HealthCheckCommand:
			health = c
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				envs[kv.Key] = kv.Value
			}
		case *instructions.RunCommand:
			if strings.Contains(strings.Join(c.CmdLine, " "), "packages.sh") {
				ranPackages = true
			}
		case *instructions.CopyCommand:
			if c.From == "" {
				continue
			}
			for _, src := range c.SourcePaths {
				if strings.Contains(src, "/usr/local/go") || strings.Contains(src, "/go/") {
					t.Errorf("the runtime stage copies the Go toolchain: %s", src)
				}
			}
		}
	}
	if entry == nil || entry.PrependShell || len(entry.CmdLine) != 1 || entry.CmdLine[0] != "/usr/local/bin/xinit-go" {
		t.Errorf("ENTRYPOINT must be exec form [\"/usr/local/bin/xinit-go\"]: %+v", entry)
	}
	if health == nil || !strings.Contains(strings.Join(health.Health.Test, " "), "xinit-go health") {
		t.Errorf("HEALTHCHECK must run xinit-go health: %+v", health)
	}
	if !ranPackages {
		t.Error("the runtime stage does not run deploy/image/packages.sh")
	}
	if caps := envs["NVIDIA_DRIVER_CAPABILITIES"]; !strings.Contains(caps, "graphics") || !strings.Contains(caps, "display") {
		t.Errorf("NVIDIA_DRIVER_CAPABILITIES=%q", caps)
	}
	if envs["NVIDIA_VISIBLE_DEVICES"] != "all" {
		t.Errorf("NVIDIA_VISIBLE_DEVICES=%q", envs["NVIDIA_VISIBLE_DEVICES"])
	}
	if !strings.Contains(rt.BaseName, "BASE") && !strings.Contains(rt.BaseName, "debian:12") {
		t.Errorf("runtime base %q", rt.BaseName)
	}
	// No secrets in ENV or ARG.
	secret := func(k string) bool {
		k = strings.ToUpper(k)
		return strings.Contains(k, "PASSWORD") || strings.Contains(k, "SECRET") || strings.Contains(k, "TOKEN")
	}
	for k := range envs {
		if secret(k) {
			t.Errorf("ENV %s in the image", k)
		}
	}
	for _, st := range stages {
		for _, c := range st.Commands {
			if a, ok := c.(*instructions.ArgCommand); ok {
				for _, kv := range a.Args {
					if secret(kv.Key) {
						t.Errorf("ARG %s", kv.Key)
					}
				}
			}
		}
	}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if secret(kv.Key) {
				t.Errorf("ARG %s", kv.Key)
			}
		}
	}
}

// decodeAll splits a manifest file and decodes each document strictly by kind.
func decodeAll(t *testing.T, name string) []any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "deploy", "kubernetes", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		var obj any
		switch meta.Kind {
		case "Job":
			obj = &batchv1.Job{}
		case "Deployment":
			obj = &appsv1.Deployment{}
		case "Service":
			obj = &corev1.Service{}
		case "PersistentVolumeClaim":
			obj = &corev1.PersistentVolumeClaim{}
		default:
			t.Fatalf("%s: unexpected kind %q", name, meta.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, obj)
	}
	return out
}

func checkPod(t *testing.T, what string, spec corev1.PodSpec) {
	t.Helper()
	if spec.TerminationGracePeriodSeconds == nil || *spec.TerminationGracePeriodSeconds < 8 {
		t.Errorf("%s: terminationGracePeriodSeconds must cover XINIT_STOP_GRACE plus 2s", what)
	}
	if sc := spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("%s: the xvfb backend runs as non-root", what)
	}
	c := spec.Containers[0]
	if q, ok := c.Resources.Limits["nvidia.com/gpu"]; !ok || q.Value() != 1 {
		t.Errorf("%s: no nvidia.com/gpu: 1", what)
	}
	if c.SecurityContext == nil || c.SecurityContext.Privileged == nil || *c.SecurityContext.Privileged {
		t.Errorf("%s: must not be privileged", what)
	}
	// The hardened way scripts/image-test.sh runs the image: a read-only root with
	// writable /tmp and runtime directory, no capabilities, no new privileges.
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("%s: want readOnlyRootFilesystem, allowPrivilegeEscalation false and capabilities drop ALL", what)
	}
	writable := map[string]bool{}
	for _, m := range c.VolumeMounts {
		writable[m.MountPath] = !m.ReadOnly
	}
	for _, dir := range []string{"/tmp", "/run/xinit-go"} {
		if !writable[dir] {
			t.Errorf("%s: with a read-only root, %s needs a writable volume", what, dir)
		}
	}
	for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
		if p == nil || p.Exec == nil || !strings.Contains(strings.Join(p.Exec.Command, " "), "xinit-go health") {
			t.Errorf("%s: probes must exec xinit-go health", what)
		}
	}
	for _, e := range c.Env {
		if e.Name == "VNC_PASSWORD" && e.ValueFrom == nil {
			t.Errorf("%s: VNC_PASSWORD must come from a Secret", what)
		}
	}
}

func TestJob(t *testing.T) {
	job := decodeAll(t, "job.yaml")[0].(*batchv1.Job)
	if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 0 {
		t.Error("backoffLimit must be 0: the app's exit code is the result")
	}
	if job.Spec.ActiveDeadlineSeconds == nil {
		t.Error("no activeDeadlineSeconds")
	}
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Error("restartPolicy must be Never")
	}
	checkPod(t, "job", job.Spec.Template.Spec)
	shot := false
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		shot = shot || e.Name == "XINIT_SCREENSHOT"
	}
	if !shot {
		t.Error("the Job keeps no screenshot")
	}
}

// TestIndexedJob: many runs, each under its own index on the artifacts volume,
// each index's result its run's exit code.
func TestIndexedJob(t *testing.T) {
	job := decodeAll(t, "indexed-job.yaml")[0].(*batchv1.Job)
	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Error("completionMode must be Indexed")
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Parallelism < 1 || *s.Parallelism > *s.Completions {
		t.Error("want completions and a parallelism between 1 and completions")
	}
	if s.BackoffLimitPerIndex == nil || s.MaxFailedIndexes == nil {
		t.Error("want backoffLimitPerIndex and maxFailedIndexes: each index retried on its own")
	}
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Error("restartPolicy must be Never (podFailurePolicy needs it, and the exit code is the result)")
	}
	// The failure policy speaks the contract's codes: 78 fails the Job, the
	// transient 69, 70 and 75 are retried, the app's own codes fail the index.
	rules := map[batchv1.PodFailurePolicyAction][]int32{}
	if s.PodFailurePolicy == nil || len(s.PodFailurePolicy.Rules) == 0 {
		t.Fatal("no podFailurePolicy")
	}
	// The first rule that matches wins: a disrupted pod (evicted, preempted) exits
	// 143, which the FailIndex rule would take if it came first.
	if r := s.PodFailurePolicy.Rules[0]; r.Action != batchv1.PodFailurePolicyActionIgnore || len(r.OnPodConditions) != 1 ||
		r.OnPodConditions[0].Type != corev1.DisruptionTarget {
		t.Error("the first podFailurePolicy rule must ignore DisruptionTarget")
	}
	if s.ActiveDeadlineSeconds == nil || *s.ActiveDeadlineSeconds < 3600*int64(*s.Completions / *s.Parallelism) {
		t.Error("activeDeadlineSeconds must cover every wave of runs (completions / parallelism) at an hour each")
	}
	for _, r := range s.PodFailurePolicy.Rules {
		if r.OnExitCodes != nil {
			if r.OnExitCodes.ContainerName == nil || *r.OnExitCodes.ContainerName != s.Template.Spec.Containers[0].Name {
				t.Errorf("rule %v: containerName must be the session's", r.Action)
			}
			rules[r.Action] = r.OnExitCodes.Values
		}
	}
	if fmt.Sprint(rules[batchv1.PodFailurePolicyActionFailJob]) != "[78]" || fmt.Sprint(rules[batchv1.PodFailurePolicyActionFailIndex]) != "[69 70 75]" {
		t.Errorf("podFailurePolicy rules %v: want FailJob on 78 and FailIndex on every code but 69, 70 and 75", rules)
	}
	checkPod(t, "indexed job", s.Template.Spec)
	env := map[string]corev1.EnvVar{}
	var order []string
	for _, e := range s.Template.Spec.Containers[0].Env {
		env[e.Name] = e
		order = append(order, e.Name)
	}
	idx, ok := env["RUN_INDEX"]
	if !ok || idx.ValueFrom == nil || idx.ValueFrom.FieldRef == nil || idx.ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Fatal("RUN_INDEX must come from the completion index annotation")
	}
	for _, name := range []string{"XINIT_ARTIFACTS", "XINIT_RECORD", "XINIT_SCREENSHOT"} {
		if !strings.Contains(env[name].Value, "$(RUN_INDEX)") {
			t.Errorf("%s=%q: each run's files must be under its index", name, env[name].Value)
		}
		// $(VAR) expands only variables defined before it.
		if slices.Index(order, name) < slices.Index(order, "RUN_INDEX") {
			t.Errorf("%s comes before RUN_INDEX: the kubelet would not expand it", name)
		}
	}
	if a, r := env["XINIT_ARTIFACTS"].Value, env["XINIT_RECORD"].Value; strings.HasPrefix(r, a+"/") {
		t.Errorf("the video %s is inside the artifacts directory %s (xinit-go refuses it)", r, a)
	}
}

func TestDeployment(t *testing.T) {
	objs := decodeAll(t, "deployment.yaml")
	dep := objs[0].(*appsv1.Deployment)
	svc := objs[1].(*corev1.Service)
	checkPod(t, "deployment", dep.Spec.Template.Spec)
	secretRef := false
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			secretRef = true
		}
	}
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			secretRef = true
		}
	}
	if !secretRef {
		t.Error("the VNC password does not come from a Secret")
	}
	vnc, web := false, false
	for _, p := range svc.Spec.Ports {
		vnc = vnc || p.Port == 5900
		web = web || p.Port == 6080
		// The probes exec xinit-go health: publishing the health port only
		// lets more clients compete for its slots.
		if p.Port == 9810 || p.TargetPort.String() == "health" || p.TargetPort.IntValue() == 9810 {
			t.Errorf("the Service publishes the health port (%s); the probes are exec and need no Service", p.Name)
		}
	}
	if !web {
		t.Error("the Service does not expose the browser view (6080)")
	}
	if !vnc || svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("service: %+v", svc.Spec)
	}
	decodeAll(t, "pvc.yaml")
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "deploy", "kubernetes", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "deploy", "kubernetes", "*.yaml"))
	for _, f := range files {
		base := filepath.Base(f)
		if base == "kustomization.yaml" {
			continue
		}
		found := false
		for _, r := range k.Resources {
			found = found || r == base
		}
		if !found {
			t.Errorf("%s is not in kustomization.yaml", base)
		}
	}
}
