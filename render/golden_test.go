package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitlaunch/gitlaunch/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

type goldenCase struct {
	name string
	job  func(t *testing.T) *schema.Job
	run  func() RunContext
	cfg  func() *schema.Config
	base func(t *testing.T) *corev1.Pod // nil: the embedded template
}

// hostileBranch holds everything a shell would act on.
const hostileBranch = "feat/$(rm -rf /)`id`'\"quoted\" with spaces\nand newline;$$ $(GITLAUNCH_SHA)"

func goldenCases() []goldenCase {
	mnist := func(model string) func(t *testing.T) *schema.Job {
		return func(t *testing.T) *schema.Job {
			j := loadJob(t, "mnist.job.yaml", "mnist/job.yaml")
			j.Resources.GPUModel = model
			return j
		}
	}
	hello := func(*testing.T) *schema.Job { return helloJob() }
	nilCfg := func() *schema.Config { return nil }
	withRun := func(f func(*RunContext)) func() RunContext {
		return func() RunContext { r := pushRun(); f(&r); return r }
	}
	return []goldenCase{
		{name: "mnist-a100", job: mnist("a100"), run: pushRun, cfg: clusterConfig},
		{name: "mnist-h100", job: mnist("h100"), run: pushRun, cfg: clusterConfig},
		{name: "hello-cpu", job: hello, run: manualRun, cfg: nilCfg},
		{name: "admin-template", job: mnist("h100"), run: pushRun, cfg: clusterConfig,
			base: func(t *testing.T) *corev1.Pod { return loadBase(t, "admin.pod.yaml") }},
		{name: "hostile-branch", job: hello, cfg: clusterConfig, run: withRun(func(r *RunContext) {
			r.Branch = hostileBranch
			r.Ref = "refs/heads/" + hostileBranch
		})},
		{name: "repo-not-dns-safe", job: hello, cfg: clusterConfig, run: withRun(func(r *RunContext) {
			r.Repo = "My_Repo.git"
			r.RepoURL = "ssh://git@git.example.com/team/My_Repo.git"
		})},
		{name: "repo-unicode", job: hello, cfg: clusterConfig, run: withRun(func(r *RunContext) {
			r.Repo = "모델-실험"
			r.RepoURL = "https://git.example.com/연구/모델-실험.git"
		})},
		{name: "long-names", cfg: clusterConfig,
			job: func(*testing.T) *schema.Job {
				j := helloJob()
				j.Name = repeat("a", 30) + "-" + repeat("b", 32) // 63: the longest valid job name
				j.Dir, j.Path = "experiments/"+j.Name, "experiments/"+j.Name+"/job.yaml"
				return j
			},
			run: withRun(func(r *RunContext) {
				r.Repo = repeat("long-repository-name-", 9) + "x" // 200 characters
				r.RepoURL = "https://git.example.com/" + r.Repo
			})},
		{name: "untrusted-pr", job: mnist("a100"), cfg: clusterConfig, run: withRun(func(r *RunContext) {
			r.Untrusted = true
			r.Trigger = "pull_request"
			r.PR = 7
			r.Ref = "refs/pull/7/head"
			r.Branch = "contributor/patch-1"
		})},
		{name: "retry-attempt-2", job: mnist("a100"), cfg: clusterConfig, run: withRun(func(r *RunContext) { r.Attempt = 2 })},
	}
}

// TestGolden renders each case and compares it with
// testdata/<case>.golden.yaml (go test ./render -update rewrites them). Every
// rendered Pod must also be valid and its shell string the user's command.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			job := tc.job(t)
			var base *corev1.Pod
			if tc.base != nil {
				base = tc.base(t)
			}
			var before *corev1.Pod
			if base != nil {
				before = base.DeepCopy()
			}
			pod, err := Pod(job, tc.run(), tc.cfg(), base)
			if err != nil {
				t.Fatal(err)
			}
			if base != nil && !reflect.DeepEqual(base, before) {
				t.Error("Pod modified the base template")
			}
			for _, p := range podProblems(pod) {
				t.Error(p)
			}
			main := container(t, pod.Spec.Containers, ContainerJob)
			argv, _ := kubeletView(main)
			if len(argv) != 3 || argv[0] != "sh" || argv[1] != "-c" || argv[2] != job.Command {
				t.Errorf("job argv = %q, want sh -c %q", argv, job.Command)
			}
			if !strings.Contains(job.Command, "$$") && !strings.Contains(job.Command, "$(") && main.Command[2] != job.Command {
				t.Errorf("sh -c argument %q, want exactly %q", main.Command[2], job.Command)
			}
			got, err := PodYAML(pod)
			if err != nil {
				t.Fatal(err)
			}
			// Same inputs, same bytes (maps are walked in random order).
			for range 5 {
				again, err := Pod(job, tc.run(), tc.cfg(), base)
				if err != nil {
					t.Fatal(err)
				}
				if b, _ := PodYAML(again); !bytes.Equal(b, got) {
					t.Fatal("rendering is not deterministic")
				}
			}
			compareGolden(t, tc.name+".golden.yaml", got)
		})
	}
}

func TestGoldenJSON(t *testing.T) {
	pod, err := Pod(helloJob(), manualRun(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := PodJSON(pod)
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, "hello-cpu.golden.json", got)
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./render -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./render -update rewrites it):\n%s", file, lineDiff(string(want), string(got)))
	}
}

// lineDiff lists the lines that differ, enough to see what changed.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("-" + wl + "\n+" + gl + "\n")
		}
	}
	return b.String()
}
