package daemon_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/daemon/daemontest"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	"github.com/gitlaunch/gitlaunch/sync/store"
)

func healthz(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestStoreDeletedOrReplaced deletes gitlaunch.db under a running syncer,
// then puts a copy in its place: /healthz fails saying which, the syncer
// says once that it stopped launching, and a new commit launches nothing.
func TestStoreDeletedOrReplaced(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{"hello/job.yaml": helloJob}, "first")
	s := daemontest.Open(t, "", daemontest.Config+"sync: {pollInterval: 1h}\n",
		daemon.Options{Repos: []string{remote.URL}, Listen: "127.0.0.1:0"}).Start()
	base := "http://" + s.Addr().String()
	waitRun(t, s, engine.StateSucceeded)
	if code, body := healthz(t, base); code != http.StatusOK {
		t.Fatalf("/healthz before: %d %s", code, body)
	}
	path := filepath.Join(s.DataDir(), "gitlaunch.db")
	copyOf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	runsDir := filepath.Join(s.DataDir(), "runs")
	before, _ := os.ReadDir(runsDir)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	code, body := healthz(t, base)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "was deleted") {
		t.Errorf("/healthz after the store was deleted: %d %q", code, body)
	}
	remote.Commit(t, "main", map[string]string{"hello/job.yaml": helloJob + "# again\n"}, "second")
	s.Engine().PollNow(s.Repos()[0].Name)
	time.Sleep(3 * time.Second) // three engine steps

	if err := os.WriteFile(path, copyOf, 0o644); err != nil {
		t.Fatal(err)
	}
	code, body = healthz(t, base)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "another file") {
		t.Errorf("/healthz after the store was replaced: %d %q", code, body)
	}
	s.Engine().PollNow(s.Repos()[0].Name)
	time.Sleep(2 * time.Second)

	after, _ := os.ReadDir(runsDir)
	if len(after) != len(before) {
		t.Errorf("runs launched while the store was not the file on disk: %d folders, was %d", len(after), len(before))
	}
	log := s.Log.String()
	if n := strings.Count(log, "the run store is not the file on disk"); n != 1 {
		t.Errorf("the syncer said %d times that it stopped launching:\n%s", n, log)
	}
	if n := strings.Count(log, "run planned"); n != 1 {
		t.Errorf("%d runs planned, want only the first (none into the deleted store):\n%s", n, log)
	}
}

// TestReaderNeedsAStore: the daemon's RoleReader opens only an existing
// store, and says how to get one.
func TestReaderNeedsAStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	_, err := daemon.Open(context.Background(), daemon.Options{DataDir: dir, Role: daemon.RoleReader})
	if !errors.Is(err, store.ErrNoStore) || !strings.Contains(err.Error(), "no runs yet: no store at "+filepath.Join(dir, "gitlaunch.db")) {
		t.Fatalf("reader without a store: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the reader created %s: %v", dir, err)
	}
}
