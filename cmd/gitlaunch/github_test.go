package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	"github.com/gitlaunch/gitlaunch/sync/github/githubtest"
)

// TestSyncOnceReportsToGitHub checks the wiring of `sync --config` with a
// repository reported to GitHub: token from a file, the Enterprise base
// URL, and a commit status per job (against the stateful GitHub fake).
func TestSyncOnceReportsToGitHub(t *testing.T) {
	gh := githubtest.New(t)
	gh.AddRepo("octo/models")
	gh.AddToken("tok-123", "gitlaunch-bot")
	remote := gittest.NewRemote(t)
	sha := remote.Commit(t, "main", map[string]string{
		"hello/job.yaml": "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: busybox\ncommand: echo acc=0.9\nresults: {metrics: {patterns: {acc: 'acc=([0-9.]+)'}}}\n",
	}, "first")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("tok-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "gitlaunch.yaml")
	if err := os.WriteFile(cfg, []byte(`apiVersion: gitlaunch.dev/v1
kind: Config
repos:
  - url: `+remote.URL+`
    name: models
    github: octo/models
github:
  baseURL: `+gh.APIURL()+`
  tokenFile: token
sync:
  baseURL: https://gitlaunch.example.com
`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITLAUNCH_GITHUB_TOKEN", "")
	out, errOut, code := gitlaunch(t, "", "sync", "--once", "--config", cfg, "--data-dir", filepath.Join(dir, "data"))
	if code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	st, ok := gh.Combined("octo/models", sha)["gitlaunch/hello"]
	if !ok {
		t.Fatalf("no status gitlaunch/hello on %s; requests: %d", sha, len(gh.Requests()))
	}
	if st.State != "success" || !strings.Contains(st.Description, "acc") || !strings.HasPrefix(st.TargetURL, "https://gitlaunch.example.com/runs/") {
		t.Errorf("status = %+v", st)
	}
	if st.Creator != "gitlaunch-bot" {
		t.Errorf("status posted as %q, want the token's user", st.Creator)
	}
	if strings.Contains(out+errOut, "tok-123") {
		t.Error("the token appears in the output")
	}
}
