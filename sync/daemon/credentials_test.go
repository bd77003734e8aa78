package daemon_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/daemon/daemontest"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
)

const gitToken = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"

// withToken puts a token into an http URL's user info, as people paste it.
func withToken(u, token string) string {
	return strings.Replace(u, "http://", "http://x-access-token:"+token+"@", 1)
}

// TestConfigTokenURLRefused reproduces issue 9 finding 2 (second part): a
// repository URL holding a token passed the config check and was then
// served by /api/runs. It is refused at load, with a problem that names
// tokenFile and does not repeat the token.
func TestConfigTokenURLRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gitlaunch.yaml")
	writeFile(t, cfg, daemontest.Config+"repos:\n  - url: "+withToken("http://127.0.0.1:1/r.git", gitToken)+"\n")
	_, err := daemon.Open(context.Background(), daemon.Options{ConfigPath: cfg, DataDir: dir, Role: daemon.RoleDispatcher})
	var ps schema.Problems
	if !errors.As(err, &ps) || !strings.Contains(err.Error(), "tokenFile") || !strings.Contains(err.Error(), "repos[0].url") {
		t.Fatalf("open: %v", err)
	}
	if strings.Contains(err.Error(), gitToken) {
		t.Errorf("the problem shows the token: %v", err)
	}
}

// TestCommandLineTokenURL: a URL with a token named on the command line is
// used with the token, which never reaches the run (its repoURL), the API,
// the log, the console or the syncer's log.
func TestCommandLineTokenURL(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Server.RequireToken(gitToken)
	// The job cannot know the token; printing it here (in two parts, so
	// that the manifest itself does not hold it) checks that the daemon
	// hands it to the engine as a hidden value.
	remote.Commit(t, "main", map[string]string{"hello/job.yaml": "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: busybox\n" +
		"command: echo token=" + gitToken[:8] + "''" + gitToken[8:] + "\n"}, "first")
	s := daemontest.Open(t, "", daemontest.Config+"sync: {pollInterval: 1h}\n",
		daemon.Options{Repos: []string{withToken(remote.URL, gitToken)}, Listen: "127.0.0.1:0"}).Start()
	run := waitRun(t, s, engine.StateSucceeded)
	if run.RepoURL != remote.URL {
		t.Errorf("repoURL %q, want %q", run.RepoURL, remote.URL)
	}
	seen := map[string]string{"console": s.Console.String(), "syncer log": s.Log.String()}
	for _, path := range []string{"/api/runs", "/api/runs/" + run.ID, "/runs/" + run.ID, "/runs/" + run.ID + "/log", "/"} {
		resp, err := http.Get("http://" + s.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen[path] = string(b)
	}
	for where, text := range seen {
		if strings.Contains(text, gitToken) {
			t.Errorf("%s shows the token:\n%s", where, text)
		}
	}
	if !strings.Contains(seen["/runs/"+run.ID+"/log"], "token=***") {
		t.Errorf("log:\n%s", seen["/runs/"+run.ID+"/log"])
	}
	if !strings.Contains(seen["/api/runs"], remote.URL) {
		t.Errorf("/api/runs lacks the repository URL:\n%s", seen["/api/runs"])
	}
}

// TestShortSecretRefused: a secret too short to be hidden in logs is
// refused when the secrets file is read, naming the file, line and key.
func TestShortSecretRefused(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{"hello/job.yaml": helloJob}, "first")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "secrets.env"), "# keys\nLONG=long-enough\nPIN=123\n")
	cfg := filepath.Join(dir, "gitlaunch.yaml")
	writeFile(t, cfg, daemontest.Config+"repos:\n  - url: "+remote.URL+"\n    secretsFile: secrets.env\n")
	_, err := daemon.Open(context.Background(), daemon.Options{ConfigPath: cfg, DataDir: filepath.Join(dir, "data"), Role: daemon.RoleDispatcher})
	if err == nil || !strings.Contains(err.Error(), "secrets.env:3: the value of PIN has 3 bytes") {
		t.Fatalf("open: %v", err)
	}
}
