package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// pkgDir and repoRoot are taken before any test changes directory.
var (
	pkgDir, _   = os.Getwd()
	repoRoot, _ = filepath.Abs(filepath.Join(pkgDir, "..", ".."))
)

// gitlaunch runs the CLI in-process in dir and returns stdout, stderr and
// the exit code main would use.
func gitlaunch(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	if dir != "" {
		t.Chdir(dir)
	}
	var out, errb bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	code := 0
	if err := root.Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			code = ee.code
		} else {
			code = 1
			errb.WriteString("gitlaunch: " + err.Error() + "\n")
		}
	}
	return out.String(), errb.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(pkgDir, "testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestValidateGolden(t *testing.T) {
	out, errOut, code := gitlaunch(t, filepath.Join(pkgDir, "testdata", "validate", "repo"), "validate")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(errOut, "problem(s) in 3 of 4 manifest(s)") {
		t.Errorf("stderr = %q", errOut)
	}
	golden(t, "validate/output.golden", out)
}

func TestValidateJSONAndExamples(t *testing.T) {
	out, _, code := gitlaunch(t, filepath.Join(pkgDir, "testdata", "validate", "repo"), "validate", "-o", "json", "typo", "good/job.yaml")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var res struct {
		Manifests []validation `json:"manifests"`
		Valid     bool         `json:"valid"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Valid || len(res.Manifests) != 2 || res.Manifests[0].Valid || !res.Manifests[1].Valid {
		t.Fatalf("json result = %+v", res)
	}
	if p := res.Manifests[0].Problems[1]; p.Line != 4 || p.Column != 1 || p.Field != "comand" {
		t.Errorf("problem = %+v", p)
	}
	root := repoRoot
	if _, errOut, code := gitlaunch(t, root, "validate", "examples"); code != 0 {
		t.Errorf("examples do not validate: %s", errOut)
	}
	if _, errOut, code := gitlaunch(t, root, "validate", "no/such/path"); code == 0 || !strings.Contains(errOut, "no/such/path") {
		t.Errorf("missing path: code %d, %q", code, errOut)
	}
}

func TestRenderExamples(t *testing.T) {
	root := repoRoot
	sha := strings.Repeat("ab", 20)
	for _, ex := range []string{"hello", "mnist"} {
		args := []string{"render", "examples/" + ex, "--sha", sha, "--ref", "refs/heads/main", "--repo", "models", "--repo-url", "https://example.com/models.git"}
		if ex == "mnist" {
			args = append(args, "--config", "examples/gitlaunch.yaml")
		}
		out, errOut, code := gitlaunch(t, root, args...)
		if code != 0 {
			t.Fatalf("render %s: %d %s", ex, code, errOut)
		}
		for _, want := range []string{"kind: Pod", "- gitlaunch\n    - clone", "workingDir: /mnt/models/examples/" + ex} {
			if !strings.Contains(out, want) {
				t.Errorf("render %s lacks %q:\n%s", ex, want, out)
			}
		}
	}
	if _, errOut, code := gitlaunch(t, root, "render", "examples/hello"); code == 0 || !strings.Contains(errOut, "--sha and --ref are required") {
		t.Errorf("render without --sha: %d %q", code, errOut)
	}
}

func TestSyncOnceRunsLogsAndRun(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{
		"hello/job.yaml": "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: busybox\ncommand: echo hi from $GITLAUNCH_JOB > out.txt; cat out.txt\nresults: {artifacts: [out.txt]}\n",
		"bad/job.yaml":   "apiVersion: gitlaunch.dev/v1\nkind: Job\ncommand: x\n",
	}, "first")
	data := t.TempDir()
	out, errOut, code := gitlaunch(t, t.TempDir(), "sync", "--once", "--data-dir", data, remote.URL)
	if code != 1 {
		t.Fatalf("sync --once with an invalid manifest exited %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(out, "repo/hello") || !strings.Contains(out, "QUEUED") || !strings.Contains(out, "RUNNING") ||
		!strings.Contains(out, "SUCCEEDED") || !strings.Contains(out, "INVALID") {
		t.Errorf("console lines:\n%s", out)
	}
	out, _, code = gitlaunch(t, "", "runs", "--data-dir", data, "-o", "json")
	var runs []*engine.Run
	if code != 0 || json.Unmarshal([]byte(out), &runs) != nil || len(runs) != 2 {
		t.Fatalf("runs -o json: %d %s", code, out)
	}
	var hello *engine.Run
	for _, r := range runs {
		if r.JobName == "hello" {
			hello = r
		}
	}
	if hello == nil || hello.State != engine.StateSucceeded || len(hello.Artifacts) != 1 {
		t.Fatalf("hello run = %+v", hello)
	}
	out, _, code = gitlaunch(t, "", "logs", "--data-dir", data, hello.ID[:6])
	if code != 0 || !strings.Contains(out, "hi from hello") {
		t.Errorf("logs: %d %q", code, out)
	}
	out, _, _ = gitlaunch(t, "", "runs", "--data-dir", data, "--state", "invalid")
	if !strings.Contains(out, "bad") || strings.Contains(out, "hello") {
		t.Errorf("runs --state invalid:\n%s", out)
	}
	if _, errOut, code := gitlaunch(t, "", "runs", "--data-dir", data, "--state", "bogus"); code == 0 || !strings.Contains(errOut, "unknown state") {
		t.Errorf("bad state: %d %q", code, errOut)
	}
	// A second pass plans nothing and succeeds.
	if out, errOut, code := gitlaunch(t, "", "sync", "--once", "--data-dir", data, remote.URL); code != 0 {
		t.Errorf("second pass exited %d: %s %s", code, out, errOut)
	}
	// A manual run follows the log and exits 0.
	out, errOut, code = gitlaunch(t, "", "run", "--data-dir", data, "--job", "hello", remote.URL)
	if code != 0 || !strings.Contains(out, "hi from hello") {
		t.Errorf("run: %d %q %q", code, out, errOut)
	}
	if _, errOut, code := gitlaunch(t, "", "run", "--data-dir", data, "--job", "nope", remote.URL); code == 0 || !strings.Contains(errOut, "no job to run") {
		t.Errorf("run unknown job: %d %q", code, errOut)
	}
	if _, errOut, code := gitlaunch(t, "", "cancel", "--data-dir", data, hello.ID); code == 0 || !strings.Contains(errOut, "already ended") {
		t.Errorf("cancel finished run: %d %q", code, errOut)
	}
}

func TestVersion(t *testing.T) {
	out, _, code := gitlaunch(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "gitlaunch ") || !strings.Contains(out, "commit") {
		t.Errorf("version: %d %q", code, out)
	}
}

// TestReadmeExamplesAreValid keeps README honest: its job.yaml and config
// examples must load.
func TestReadmeExamplesAreValid(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	block := func(after string) string {
		i := strings.Index(readme, after)
		if i < 0 {
			t.Fatalf("README has no %q", after)
		}
		j := strings.Index(readme[i:], "```yaml\n") + i + len("```yaml\n")
		k := strings.Index(readme[j:], "```") + j
		return readme[j:k]
	}
	dir := t.TempDir()
	for _, f := range []string{"pod-template.yaml", "secrets.env", "comment.md.tmpl"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "gitlaunch.yaml"), []byte(block("## Cluster config")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "mnist"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mnist", "job.yaml"), []byte(block("## Writing a job")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := gitlaunch(t, dir, "validate", "--config", "gitlaunch.yaml", "mnist"); code != 0 {
		t.Errorf("README's examples do not validate:\n%s%s", out, errOut)
	}
}
