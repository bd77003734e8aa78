package retention_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/retention"
	"github.com/gitlaunch/gitlaunch/sync/store"
)

type clock struct{ t time.Time }

func (c clock) Now() time.Time { return c.t }

// failing refuses to remove the workspaces of some runs, as a folder
// still busy would.
type failing struct {
	retention.Folders
	refuse map[string]bool
}

func (f failing) RemoveWorkspace(ctx context.Context, id string) error {
	if f.refuse[id] {
		return errors.New("busy")
	}
	return f.Folders.RemoveWorkspace(ctx, id)
}

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// TestSweep prunes the runs past the policy, a batch at a time: their
// folders go and their logs become one line, their summary stays; a run
// whose workspace cannot be removed keeps its log and goes at a later
// sweep; a running run and a young one stay.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "gitlaunch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := t.TempDir()
	mk := func(i int, state engine.State) *engine.Run {
		sha := fmt.Sprintf("%040d", i)
		r := &engine.Run{ID: engine.RunID("demo", "a/job.yaml", sha, engine.TriggerPush, ""), Repo: "demo", JobPath: "a/job.yaml",
			JobName: "a", SHA: sha, Ref: "refs/heads/main", Trigger: engine.TriggerPush, State: state, Attempt: 1,
			Metrics: map[string]float64{"loss": float64(i)}, CreatedAt: t0.Add(time.Duration(i) * time.Hour)}
		if _, err := st.CreateRun(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
		if err := st.AppendLog(ctx, r.ID, []byte(strings.Repeat("output\n", 100))); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, r.ID, "workspace"), 0o755); err != nil {
			t.Fatal(err)
		}
		return r
	}
	var runs []*engine.Run
	for i := range 6 {
		runs = append(runs, mk(i, engine.StateSucceeded))
	}
	running := mk(6, engine.StateRunning)
	young := mk(10, engine.StateFailed)
	ws := failing{Folders: retention.Folders{Dir: dir}, refuse: map[string]bool{runs[2].ID: true}}
	sw, err := retention.New(retention.Options{Policy: retention.Policy{MaxAge: 48 * time.Hour}, Store: st, Workspaces: ws,
		Batch: 2, Clock: clock{t0.Add(58 * time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := sw.Sweep(ctx)
	if n != 5 || err == nil || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("Sweep = %d, %v; want 5 runs pruned and the busy one's error", n, err)
	}
	gone := func(r *engine.Run) bool {
		_, err := os.Stat(filepath.Join(dir, r.ID))
		rc, _ := st.OpenLog(ctx, r.ID, 0)
		b := make([]byte, 200)
		k, _ := rc.Read(b)
		rc.Close()
		pruned := strings.Contains(string(b[:k]), "removed on 2026-03-03 10:00 UTC by the retention policy")
		if pruned != os.IsNotExist(err) {
			t.Errorf("run %s: log pruned %v, folder gone %v", r.ID, pruned, os.IsNotExist(err))
		}
		return pruned
	}
	for i, r := range runs {
		if want := i != 2; gone(r) != want {
			t.Errorf("run %d pruned: %v, want %v", i, !want, want)
		}
	}
	if gone(running) || gone(young) {
		t.Error("a running or a young run was pruned")
	}
	if got, err := st.GetRun(ctx, runs[0].ID); err != nil || got.Metrics["loss"] != 0 || got.State != engine.StateSucceeded {
		t.Errorf("the summary of a pruned run: %+v, %v", got, err)
	}

	delete(ws.refuse, runs[2].ID)
	if n, err := sw.Sweep(ctx); n != 1 || err != nil || !gone(runs[2]) {
		t.Errorf("second sweep = %d, %v", n, err)
	}
	if n, err := sw.Sweep(ctx); n != 0 || err != nil {
		t.Errorf("third sweep = %d, %v; want nothing left", n, err)
	}
}

func TestFoldersRefusesPaths(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"", "..", "../x", "a/b", ".hidden"} {
		if err := (retention.Folders{Dir: dir}).RemoveWorkspace(context.Background(), id); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("RemoveWorkspace(%q) = %v", id, err)
		}
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}
