package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// TestPruneCandidates: age and count limits pick old finished runs; runs
// in progress, runs with reports to deliver, the latest commit of a pull
// request and runs already pruned are never picked.
func TestPruneCandidates(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	sha := func(i int) string { return fmt.Sprintf("%040d", i) }
	run := func(job string, i int, st engine.State) *engine.Run {
		at := t0.Add(time.Duration(i) * time.Hour)
		if job == "b" {
			at = at.Add(30 * time.Minute)
		}
		r := newRun("demo", job+"/job.yaml", sha(i), at)
		mustCreate(t, s, r)
		if st != engine.StateQueued {
			mustUpdate(t, s, r, st, "", r.CreatedAt)
		}
		return r
	}
	var a []*engine.Run
	for i := range 5 {
		a = append(a, run("a", i, engine.StateSucceeded))
	}
	b0 := run("b", 0, engine.StateFailed)
	b1 := run("b", 1, engine.StateRunning)
	// A report still to deliver.
	c0 := newRun("demo", "c/job.yaml", sha(0), t0)
	mustCreate(t, s, c0, "github")
	mustUpdate(t, s, c0, engine.StateSucceeded, "", t0)
	// The latest commit of pull request 7, and an older one.
	pr := func(i int) *engine.Run {
		r := newRun("demo", "a/job.yaml", sha(100+i), t0.Add(time.Duration(i)*time.Minute))
		r.ID, r.Ref, r.PR, r.Trigger = engine.RunID("demo", "a/job.yaml", r.SHA, engine.TriggerPullRequest, ""), "refs/pull/7/head", 7, engine.TriggerPullRequest
		mustCreate(t, s, r)
		mustUpdate(t, s, r, engine.StateSucceeded, "", r.CreatedAt)
		return r
	}
	prOld, prNew := pr(1), pr(2)
	if err := s.SavePlannedRefs(ctx, "demo", map[string]string{"refs/pull/7/head": prNew.SHA, "refs/heads/main": sha(4)}); err != nil {
		t.Fatal(err)
	}

	ids := func(rs ...*engine.Run) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		before time.Time
		keep   int
		want   []string
	}{
		{"nothing", time.Time{}, 0, nil},
		// Job a: a0 (t0), prOld (+1m), prNew (+2m, the pull request's
		// latest commit), a1..a4 (+1h..+4h); job b: b0 (+30m), b1 (running).
		{"age", t0.Add(150 * time.Minute), 0, ids(a[0], prOld, b0, a[1], a[2])},
		{"count", time.Time{}, 2, ids(a[0], prOld, a[1], a[2])},
		{"both", t0.Add(20 * time.Minute), 4, ids(a[0], prOld)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.PruneCandidates(ctx, tt.before, tt.keep, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PruneCandidates = %v\nwant %v", got, tt.want)
			}
		})
	}
	if got, _ := s.PruneCandidates(ctx, t0.Add(150*time.Minute), 0, 2); len(got) != 2 {
		t.Errorf("limit 2: %v", got)
	}

	// Pruning: the log becomes one line, the run's row stays, and the run
	// is not picked again.
	if err := s.AppendLog(ctx, a[0].ID, []byte(strings.Repeat("step\n", 1000))); err != nil {
		t.Fatal(err)
	}
	a[0].Metrics = map[string]float64{"loss": 0.1}
	mustUpdate(t, s, a[0], engine.StateSucceeded, "", a[0].CreatedAt)
	at := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	if err := s.PruneLog(ctx, a[0].ID, at); err != nil {
		t.Fatal(err)
	}
	log := readAll(t, s, a[0].ID, 0)
	if log != "gitlaunch: this run's log (5000 bytes) and workspace were removed on 2026-04-01 12:00 UTC by the retention policy (sync.retention); its state, metrics and timings are kept\n" {
		t.Errorf("pruned log: %q", log)
	}
	if note, err := s.LogNote(ctx, a[0].ID); err != nil || "gitlaunch: "+note+"\n" != log {
		t.Errorf("LogNote of a pruned run = %q, %v", note, err)
	}
	if got, err := s.GetRun(ctx, a[0].ID); err != nil || got.Metrics["loss"] != 0.1 || got.State != engine.StateSucceeded {
		t.Errorf("pruned run's summary: %+v, %v", got, err)
	}
	if got, _ := s.PruneCandidates(ctx, t0.Add(150*time.Minute), 0, 0); !reflect.DeepEqual(got, ids(prOld, b0, a[1], a[2])) {
		t.Errorf("after pruning a[0]: %v", got)
	}
	if err := s.PruneLog(ctx, b1.ID, at); err == nil {
		t.Error("PruneLog of a running run succeeded")
	}
}
