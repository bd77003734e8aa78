package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
)

// TestReadersCreateNothing: `runs` and `logs` where no syncer ever ran say
// so and exit non-zero, and leave the folder as it was: no store, no data
// directory.
func TestReadersCreateNothing(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"runs"},
		{"runs", "-o", "json"},
		{"logs", "3kq7"},
		{"runs", "--data-dir", filepath.Join(dir, "elsewhere")},
	} {
		out, errOut, code := gitlaunch(t, dir, args...)
		data := filepath.Join(dir, ".gitlaunch")
		if len(args) > 2 && args[1] == "--data-dir" {
			data = args[2]
		}
		want := "gitlaunch: no runs yet: no store at " + filepath.Join(data, "gitlaunch.db") + " (start `gitlaunch sync` or pass --data-dir)\n"
		if code == 0 || out != "" || errOut != want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", args, code, out, errOut, want)
		}
		if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
			t.Errorf("%v created %v (%v)", args, entries, err)
		}
	}
	if _, errOut, _ := gitlaunch(t, dir, "runs"); strings.Contains(errOut, "Usage") {
		t.Errorf("usage printed for a missing store:\n%s", errOut)
	}
}

// TestLogsShowTheCut: `gitlaunch logs` of a run whose log passed
// sync.logLimit prints its head, one line saying what was cut, its tail.
func TestLogsShowTheCut(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{
		"loud/job.yaml": "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: busybox\ncommand: echo first line; seq 1 100000; echo last line\n",
	}, "first")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gitlaunch.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: gitlaunch.dev/v1\nkind: Config\nsync: {logLimit: 64Ki}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if out, errOut, code := gitlaunch(t, "", "sync", "--once", "--config", cfg, "--data-dir", data, remote.URL); code != 0 {
		t.Fatalf("sync --once: %d %s %s", code, out, errOut)
	}
	out, _, code := gitlaunch(t, "", "runs", "--data-dir", data, "-o", "json")
	var runs []*engine.Run
	if code != 0 || json.Unmarshal([]byte(out), &runs) != nil || len(runs) != 1 {
		t.Fatalf("runs: %d %s", code, out)
	}
	out, _, code = gitlaunch(t, "", "logs", "--data-dir", data, runs[0].ID)
	cut := regexp.MustCompile(`\ngitlaunch: … (\d+) bytes \((\d+) lines\) cut … [^\n]*\n`)
	if code != 0 || !strings.Contains(out, "first line\n1\n2\n") || !strings.HasSuffix(out, "100000\nlast line\n") || len(cut.FindAllString(out, -1)) != 1 {
		t.Errorf("logs: exit %d, %d bytes, head %q, tail %q, cut lines %q", code, len(out), out[:min(len(out), 300)], out[max(0, len(out)-60):], cut.FindAllString(out, -1))
	}
}
