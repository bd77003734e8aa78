package daemon_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/daemon/daemontest"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
)

const helloJob = "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: busybox\ncommand: echo hello from $GITLAUNCH_JOB\n"

// TestRunServesAndRuns is `gitlaunch sync --listen` as a user starts it: the
// daemon polls, runs the pushed job on the local executor, reports it on
// the console and answers /healthz and the dashboard while it runs.
func TestRunServesAndRuns(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{"hello/job.yaml": helloJob}, "first")
	s := daemontest.Open(t, "", daemontest.Config+"sync: {pollInterval: 1h}\n",
		daemon.Options{Repos: []string{remote.URL}, Listen: "127.0.0.1:0"}).Start()
	if s.Addr() == nil {
		t.Fatal("no listener")
	}
	base := "http://" + s.Addr().String()
	run := waitRun(t, s, engine.StateSucceeded)
	if !strings.Contains(s.Console.String(), "SUCCEEDED") {
		t.Errorf("console:\n%s", s.Console.String())
	}
	for _, path := range []string{"/healthz", "/", "/runs/" + run.ID} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}
	// No GitHub configured: no webhook endpoint.
	resp, err := http.Post(base+"/webhook", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /webhook without GitHub: %d, want 404", resp.StatusCode)
	}
}

func waitRun(t *testing.T, s *daemontest.Syncer, want engine.State) *engine.Run {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		runs, err := s.Store().ListRuns(context.Background(), engine.RunFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == 1 && runs[0].State.Terminal() {
			if runs[0].State != want {
				t.Fatalf("run ended %s (%s), want %s", runs[0].State, runs[0].Reason, want)
			}
			return runs[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the run did not end within a minute")
	return nil
}

// TestOneDispatcherPerDataDir: a second `sync` on the same data directory
// is refused; a manual run (RoleAuto) then plans only and leaves launching
// to the dispatcher; a reader needs no lock.
func TestOneDispatcherPerDataDir(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{"hello/job.yaml": helloJob}, "first")
	first := daemontest.Open(t, "", "", daemon.Options{Repos: []string{remote.URL}})
	dir := first.DataDir()

	_, err := daemon.Open(context.Background(), daemon.Options{DataDir: dir, Role: daemon.RoleDispatcher, Repos: []string{remote.URL}})
	if err == nil || !strings.Contains(err.Error(), "another gitlaunch process dispatches") {
		t.Fatalf("second dispatcher: %v", err)
	}
	auto, err := daemon.Open(context.Background(), daemon.Options{DataDir: dir, Role: daemon.RoleAuto, Repos: []string{remote.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer auto.Close()
	if auto.Dispatching() {
		t.Error("a RoleAuto daemon dispatches while another holds the lock")
	}
	reader, err := daemon.Open(context.Background(), daemon.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if reader.Engine() != nil {
		t.Error("a reader built an engine")
	}

	// Once the dispatcher is gone, the lock is free again.
	first.Stop()
	again, err := daemon.Open(context.Background(), daemon.Options{DataDir: dir, Role: daemon.RoleAuto, Repos: []string{remote.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if !again.Dispatching() {
		t.Error("the lock was not released by Close")
	}
}

// TestOpenFailsCleanly: a bad config comes back as positioned problems, and
// a failure half way (the port is taken) releases what was built, so the
// next Open can take the data directory.
func TestOpenFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	cfg := dir + "/gitlaunch.yaml"
	writeFile(t, cfg, "apiVersion: gitlaunch.dev/v1\nkind: Config\nexecutor: kubernetes\n")
	_, err := daemon.Open(context.Background(), daemon.Options{ConfigPath: cfg, DataDir: dir, Role: daemon.RoleDispatcher})
	var ps schema.Problems
	if !errors.As(err, &ps) || !strings.Contains(ps.Error(), "executor") {
		t.Fatalf("bad config: %v", err)
	}

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{"hello/job.yaml": helloJob}, "first")
	_, err = daemon.Open(context.Background(), daemon.Options{DataDir: dir, Role: daemon.RoleDispatcher,
		Repos: []string{remote.URL}, Listen: taken.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("taken port: %v", err)
	}
	d, err := daemon.Open(context.Background(), daemon.Options{DataDir: dir, Role: daemon.RoleDispatcher, Repos: []string{remote.URL}})
	if err != nil {
		t.Fatalf("open after a failed open: %v", err)
	}
	d.Close()
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
