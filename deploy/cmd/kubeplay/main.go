// Command kubeplay turns deploy/kubernetes's manifests into files that
// `podman kube play` runs, for scripts/image-test.sh: the Deployment with its Secret,
// and the Job's pod. It says on stderr, one line each, what podman cannot express
// and was left out.
//
//	go run ./cmd/kubeplay -dir kubernetes -image IMAGE -password PW \
//	  -session-args sleep,1000 -job-args sh,-c,'exit 3' -out DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	dir := flag.String("dir", "kubernetes", "the manifests")
	image := flag.String("image", "localhost/xinit-go:test", "image for every container")
	password := flag.String("password", "", "the VNC password Secret's value")
	sessionArgs := flag.String("session-args", "", "the Deployment's app, comma-separated")
	jobArgs := flag.String("job-args", "", "the Job's app, comma-separated")
	out := flag.String("out", ".", "where deployment.yaml and job.yaml are written")
	flag.Parse()
	if err := run(*dir, *image, *password, *sessionArgs, *jobArgs, *out); err != nil {
		fmt.Fprintln(os.Stderr, "kubeplay:", err)
		os.Exit(1)
	}
}

func run(dir, image, password, sessionArgs, jobArgs, out string) error {
	docs, err := readDocs(filepath.Join(dir, "deployment.yaml"))
	if err != nil {
		return err
	}
	var dep appsv1.Deployment
	if err := yaml.UnmarshalStrict(docs[0], &dep); err != nil {
		return err
	}
	if len(docs) > 1 {
		leftOut("the Service: podman has no Services; the test reaches the pod itself")
	}
	adapt(&dep.Spec.Template.Spec, image, sessionArgs)
	secret := corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: secretName(dep.Spec.Template.Spec)},
		Data:       map[string][]byte{"password": []byte(password)},
	}
	if err := write(filepath.Join(out, "deployment.yaml"), secret, dep); err != nil {
		return err
	}

	docs, err = readDocs(filepath.Join(dir, "job.yaml"))
	if err != nil {
		return err
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(docs[0], &job); err != nil {
		return err
	}
	leftOut("the Job itself (podman kube play has no Jobs): its pod template runs as a Pod with restartPolicy Never, without backoffLimit and activeDeadlineSeconds")
	pod := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: job.Name, Labels: job.Spec.Template.Labels},
		Spec:       job.Spec.Template.Spec,
	}
	adapt(&pod.Spec, image, jobArgs)
	for i, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			leftOut("the Job's PersistentVolumeClaim " + v.PersistentVolumeClaim.ClaimName + ": an emptyDir in its place")
			pod.Spec.Volumes[i].VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		}
	}
	if err := write(filepath.Join(out, "job.yaml"), pod); err != nil {
		return err
	}

	// The Indexed Job: one of its pods, as index 3.
	docs, err = readDocs(filepath.Join(dir, "indexed-job.yaml"))
	if err != nil {
		return err
	}
	var ij batchv1.Job
	if err := yaml.UnmarshalStrict(docs[0], &ij); err != nil {
		return err
	}
	leftOut("the Indexed Job itself: one of its pods runs, as index 3, without completions, parallelism, backoffLimitPerIndex and podFailurePolicy")
	ipod := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: ij.Name + "-3", Labels: ij.Spec.Template.Labels},
		Spec:       ij.Spec.Template.Spec,
	}
	adapt(&ipod.Spec, image, jobArgs)
	for i, v := range ipod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			ipod.Spec.Volumes[i].VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		}
	}
	for ci := range ipod.Spec.Containers {
		indexEnv(&ipod.Spec.Containers[ci], "3")
	}
	return write(filepath.Join(out, "indexed-job.yaml"), ipod)
}

// indexEnv gives the container the index the Job controller would (its
// annotation, read through the downward API, is not set outside a Job), and
// expands $(VAR) references to earlier variables as the kubelet does.
func indexEnv(c *corev1.Container, index string) {
	vals := map[string]string{}
	for i := range c.Env {
		e := &c.Env[i]
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && strings.Contains(e.ValueFrom.FieldRef.FieldPath, "job-completion-index") {
			leftOut("the completion index annotation (" + e.Name + "): set to " + index)
			e.ValueFrom, e.Value = nil, index
		}
		for k, v := range vals {
			e.Value = strings.ReplaceAll(e.Value, "$("+k+")", v)
		}
		if e.ValueFrom == nil {
			vals[e.Name] = e.Value
		}
	}
}

// adapt sets the image and the app, and drops what this engine cannot honour.
func adapt(spec *corev1.PodSpec, image, args string) {
	// podman 4.3 dereferences a secret volume's optional field without a check.
	for i := range spec.Volumes {
		if s := spec.Volumes[i].Secret; s != nil && s.Optional == nil {
			s.Optional = new(bool)
		}
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		c.Image = image
		if args != "" {
			c.Args = strings.Split(args, ",")
		}
		if _, ok := c.Resources.Limits["nvidia.com/gpu"]; ok {
			leftOut("nvidia.com/gpu: 1 (container " + c.Name + "): no device plugin; the app renders with Mesa")
			delete(c.Resources.Limits, "nvidia.com/gpu")
		}
		if c.ReadinessProbe != nil {
			leftOut("the readinessProbe (container " + c.Name + "): podman 4 does not run it; the test runs its command itself")
		}
	}
}

func secretName(spec corev1.PodSpec) string {
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	return "xinit-go-vnc"
}

func leftOut(what string) { fmt.Fprintln(os.Stderr, "kube play: left out:", what) }

func readDocs(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var docs [][]byte
	for _, d := range strings.Split(string(b), "\n---") {
		if strings.Contains(d, "kind:") {
			docs = append(docs, []byte(d))
		}
	}
	return docs, nil
}

func write(path string, objs ...any) error {
	var parts []string
	for _, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			return err
		}
		parts = append(parts, string(b))
	}
	return os.WriteFile(path, []byte(strings.Join(parts, "---\n")), 0o644)
}
