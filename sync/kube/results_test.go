package kube

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// workspacePod mounts runs/<id> of the results volume at /mnt/repo and
// works in /mnt/repo/<wd>.
func workspacePod(id, wd string) *corev1.Pod {
	p := basePod()
	c := &p.Spec.Containers[0]
	c.VolumeMounts = []corev1.VolumeMount{{Name: "workspace", MountPath: "/mnt/repo", SubPath: "runs/" + id}}
	c.WorkingDir = "/mnt/repo/" + wd
	return p
}

func write(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestResults(t *testing.T) {
	dir := t.TempDir()
	wd := filepath.Join(dir, "runs", "r1", "mnist")
	write(t, filepath.Join(wd, "mnist_cnn.pt"), "weights!")
	write(t, filepath.Join(wd, "out", "a.png"), "a")
	write(t, filepath.Join(wd, "out", "deep", "b.png"), "bb")
	write(t, filepath.Join(wd, "train.py"), "print()")
	write(t, filepath.Join(wd, "metrics.json"), `{"loss": 0.25, "acc": 97, "note": "text", "big": 1e400}`)
	write(t, filepath.Join(dir, "secret"), "not yours")
	if err := os.Symlink(filepath.Join(dir, "secret"), filepath.Join(wd, "out", "leak.png")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../mnist_cnn.pt", filepath.Join(wd, "out", "ok.png")); err != nil {
		t.Fatal(err)
	}

	r, err := resultsFor(dir, workspacePod("r1", "mnist"))
	if err != nil {
		t.Fatal(err)
	}
	got := r.Artifacts([]string{"*.pt", "out/**/*.png", "bad/[", "missing/*"})
	want := []engine.Artifact{{Path: "mnist_cnn.pt", Size: 8}, {Path: "out/a.png", Size: 1}, {Path: "out/deep/b.png", Size: 2}, {Path: "out/ok.png", Size: 8}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("artifacts %+v\nwant %+v", got, want)
	}
	m := r.MetricsFile(&schema.Metrics{File: "metrics.json"})
	if !reflect.DeepEqual(m, map[string]float64{"loss": 0.25, "acc": 97}) {
		t.Errorf("metrics %v", m)
	}
	notes := strings.Join(r.Notes, "\n")
	for _, want := range []string{`bad pattern "["`, "out/leak.png is a link out of the workspace", `"big" is not a number`, `"note" is not a number`} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}

func TestResultsProblems(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "outside.json"), `{"x": 1}`)
	write(t, filepath.Join(dir, "runs", "r2", "job", "many.json"), `{"a":1}{"b":2}`)
	if err := os.Symlink(filepath.Join(dir, "outside.json"), filepath.Join(dir, "runs", "r2", "job", "link.json")); err != nil {
		t.Fatal(err)
	}
	r, err := resultsFor(dir, workspacePod("r2", "job"))
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"absent.json":    "was not written",
		"link.json":      "link out of the workspace",
		"many.json":      "found more after it",
		"../escape.json": "leaves the workdir",
	} {
		r.Notes = nil
		if m := r.MetricsFile(&schema.Metrics{File: file}); m != nil {
			t.Errorf("%s: read %v", file, m)
		}
		if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], want) {
			t.Errorf("%s: notes %q, want %q", file, r.Notes, want)
		}
	}

	bad := workspacePod("r3", "x")
	bad.Spec.Containers[0].VolumeMounts[0].SubPath = "../../etc"
	if _, err := resultsFor(dir, bad); err == nil {
		t.Error("a subPath out of the volume was accepted")
	}
	none := basePod()
	if _, err := resultsFor(dir, none); err == nil {
		t.Error("a Pod without a workspace mount was accepted")
	}
	r, err = resultsFor(dir, workspacePod("nothing-here", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if a := r.Artifacts([]string{"*"}); a != nil || len(r.Notes) != 1 {
		t.Errorf("missing workspace: %v, notes %q", a, r.Notes)
	}
}
