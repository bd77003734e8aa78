package render

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/templates"
)

const (
	testSHA   = "3f786850e387550fdab836ed7e6dc881de23001b"
	testRunID = "k5nq2vx7m3abcdefgh2j" // sync.RunID's shape: 20 of [a-z2-7]
)

// loadJob decodes a job.yaml straight into schema.Job (schema.Load, with
// its validation and defaults, lives elsewhere) and sets Path and Dir as
// Load would.
func loadJob(t testing.TB, file, repoPath string) *schema.Job {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	job := &schema.Job{}
	if err := dec.Decode(job); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	job.Path = repoPath
	job.Dir = path.Dir(repoPath)
	return job
}

func loadBase(t testing.TB, file string) *corev1.Pod {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	pod, err := templates.ParsePod(data)
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

// clusterConfig has both GPU model styles and a PVC dataset.
func clusterConfig() *schema.Config {
	return &schema.Config{
		APIVersion: schema.APIVersion,
		Kind:       schema.KindConfig,
		Namespace:  "gitlaunch-runs",
		CloneImage: "ghcr.io/gitlaunch/gitlaunch:v0.1.0",
		GPUModels: map[string]schema.GPUModel{
			// A renamed device-plugin resource.
			"a100": {Resource: "nvidia.com/a100"},
			// The generic resource plus the GPU feature discovery label.
			"h100": {NodeSelector: map[string]string{"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}},
		},
		Datasets: map[string]schema.DatasetSource{
			"mnist": {Volume: &corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "mnist-data", ReadOnly: true},
			}},
		},
		Results:  schema.ResultsVolume{ClaimName: "gitlaunch-results", MountPath: "/var/lib/gitlaunch/results"},
		Defaults: schema.Defaults{Timeout: schema.Duration{Duration: 24 * time.Hour}, Image: "python:3.12-slim"},
	}
}

func pushRun() RunContext {
	return RunContext{
		RunID:       testRunID,
		Repo:        "vision-lab",
		RepoURL:     "https://github.com/example/vision-lab.git",
		SHA:         testSHA,
		Ref:         "refs/heads/main",
		Branch:      "main",
		Trigger:     "push",
		Attempt:     1,
		CloneSecret: "vision-lab-git",
		SecretName:  "vision-lab-secrets",
	}
}

func helloJob() *schema.Job {
	return &schema.Job{
		APIVersion: schema.APIVersion,
		Kind:       schema.KindJob,
		Name:       "hello",
		Image:      "busybox:1.37",
		Command:    "echo hello from $GITLAUNCH_REPO",
		Path:       "job.yaml",
		Dir:        ".",
	}
}

func manualRun() RunContext {
	return RunContext{
		RunID:   "a2b3c4d5e6f7g2h3i4j5",
		Repo:    "hello",
		RepoURL: "file:///srv/git/hello.git",
		SHA:     testSHA,
		Ref:     "refs/heads/main",
		Branch:  "main",
		Trigger: "manual",
	}
}

// kubeletView is what the container sees after the kubelet expands
// $(VAR) in env values (in order) and in command and args.
func kubeletView(c corev1.Container) (argv []string, env map[string]string) {
	env = map[string]string{}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			env[e.Name] = "<from " + e.ValueFrom.SecretKeyRef.Key + ">"
			continue
		}
		env[e.Name] = Expand(e.Value, lookup)
	}
	for _, s := range append(append([]string{}, c.Command...), c.Args...) {
		argv = append(argv, Expand(s, lookup))
	}
	return argv, env
}

func container(t testing.TB, list []corev1.Container, name string) corev1.Container {
	t.Helper()
	for _, c := range list {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return corev1.Container{}
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }
