package store

import (
	"context"
	"errors"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"reflect"
	"strings"
	"testing"
	"time"
)

const sha1 = "1111111111111111111111111111111111111111"

func TestCreateRunIsIdempotent(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	r := newRun("demo", "mnist/job.yaml", sha1, t0)
	r.Reason = "planned"
	mustCreate(t, s, r, "console", "github")

	dup := *r
	dup.State = engine.StateRunning
	dup.JobName = "changed"
	created, err := s.CreateRun(ctx, &dup, []string{"console", "github", "slack"})
	if err != nil || created {
		t.Fatalf("second CreateRun = %v, %v; want false, nil", created, err)
	}
	got, err := s.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("a duplicate create changed the run:\n got %+v\nwant %+v", got, r)
	}
	ts, err := s.Transitions(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.Transition{{RunID: r.ID, From: "", To: engine.StateQueued, Reason: "planned", At: t0}}
	if !reflect.DeepEqual(ts, want) {
		t.Errorf("Transitions = %+v, want %+v", ts, want)
	}
	due, err := s.DueReports(ctx, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := reporters(due); got != "console:queued github:queued" {
		t.Errorf("outbox = %s, want one queued report per reporter given at creation", got)
	}
}

func TestCreateRunFillsCreatedAt(t *testing.T) {
	s := openTest(t)
	c := newClock(s)
	r := newRun("demo", "a/job.yaml", sha1, time.Time{})
	r.UpdatedAt = time.Time{}
	mustCreate(t, s, r)
	if !r.CreatedAt.Equal(c.Now()) {
		t.Errorf("CreatedAt = %v, want the store's now %v", r.CreatedAt, c.Now())
	}
	got, err := s.GetRun(context.Background(), r.ID)
	if err != nil || !got.CreatedAt.Equal(c.Now()) {
		t.Errorf("stored CreatedAt = %v, %v", got.CreatedAt, err)
	}
	ts, _ := s.Transitions(context.Background(), r.ID)
	if len(ts) != 1 || !ts[0].At.Equal(c.Now()) {
		t.Errorf("creation transition = %+v, want At = now", ts)
	}
}

func TestBadRunsAreRefused(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	noID := newRun("demo", "a/job.yaml", sha1, t0)
	noID.ID = ""
	noState := newRun("demo", "a/job.yaml", sha1, t0)
	noState.State = ""
	for _, tc := range []struct {
		name string
		r    *engine.Run
		want string
	}{
		{"nil", nil, "nil run"},
		{"no ID", noID, "no ID"},
		{"no state", noState, "no state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.CreateRun(ctx, tc.r, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CreateRun error = %v, want %q", err, tc.want)
			}
			if err := s.UpdateRun(ctx, tc.r, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("UpdateRun error = %v, want %q", err, tc.want)
			}
		})
	}
	r := newRun("demo", "a/job.yaml", sha1, t0)
	if _, err := s.CreateRun(ctx, r, []string{"console", ""}); err == nil {
		t.Error("CreateRun with an empty reporter name succeeded")
	}
	if _, err := s.GetRun(ctx, r.ID); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("a failed CreateRun left the run behind: %v", err)
	}
}

func TestUpdateRunRecordsTransitions(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	c := newClock(s)
	r := newRun("demo", "mnist/job.yaml", sha1, t0)
	mustCreate(t, s, r)
	mustUpdate(t, s, r, engine.StatePending, "launched", t0.Add(1*time.Second))
	r.QueuePos = 3 // a save without a state change records nothing
	mustUpdate(t, s, r, engine.StatePending, "image pull", t0.Add(2*time.Second))
	mustUpdate(t, s, r, engine.StateRunning, "started", t0.Add(3*time.Second))
	mustUpdate(t, s, r, engine.StateFailed, "exit 1", time.Time{}) // no UpdatedAt: the store's now

	got, err := s.Transitions(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.Transition{
		{RunID: r.ID, From: "", To: engine.StateQueued, At: t0},
		{RunID: r.ID, From: engine.StateQueued, To: engine.StatePending, Reason: "launched", At: t0.Add(1 * time.Second)},
		{RunID: r.ID, From: engine.StatePending, To: engine.StateRunning, Reason: "started", At: t0.Add(3 * time.Second)},
		{RunID: r.ID, From: engine.StateRunning, To: engine.StateFailed, Reason: "exit 1", At: c.Now()},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Transitions:\n got %+v\nwant %+v", got, want)
	}
	stored, err := s.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.State != engine.StateFailed || stored.QueuePos != 3 || stored.Reason != "exit 1" {
		t.Errorf("stored run = %+v", stored)
	}
}

func TestMissingRuns(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	r := newRun("demo", "a/job.yaml", sha1, t0)
	checks := map[string]error{
		"GetRun":      func() error { _, err := s.GetRun(ctx, r.ID); return err }(),
		"UpdateRun":   s.UpdateRun(ctx, r, []string{"console"}),
		"Transitions": func() error { _, err := s.Transitions(ctx, r.ID); return err }(),
		"AppendLog":   s.AppendLog(ctx, r.ID, []byte("x")),
		"LogSize":     func() error { _, err := s.LogSize(ctx, r.ID); return err }(),
		"OpenLog":     func() error { _, err := s.OpenLog(ctx, r.ID, 0); return err }(),
	}
	for name, err := range checks {
		if !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("%s on a missing run: %v, want ErrNotFound", name, err)
		} else if !strings.Contains(err.Error(), r.ID) {
			t.Errorf("%s error %q does not name the run", name, err)
		}
	}
	if due, err := s.DueReports(ctx, time.Now(), 0); err != nil || len(due) != 0 {
		t.Errorf("a failed UpdateRun enqueued %v (%v)", due, err)
	}
}

func TestListRuns(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	mk := func(name, repo, job, ref string, pr int, sha string, st engine.State, minute int) *engine.Run {
		r := newRun(repo, job, sha, t0.Add(time.Duration(minute)*time.Minute))
		r.ID = name
		r.Ref, r.PR = ref, pr
		mustCreate(t, s, r)
		if st != engine.StateQueued {
			mustUpdate(t, s, r, st, "", r.CreatedAt)
		}
		return r
	}
	mk("run-a", "demo", "a/job.yaml", "refs/heads/main", 0, "aaa", engine.StateSucceeded, 1)
	mk("run-b", "demo", "b/job.yaml", "refs/heads/main", 0, "aaa", engine.StateFailed, 2)
	mk("run-c", "demo", "a/job.yaml", "refs/pull/7/head", 7, "ccc", engine.StateRunning, 3)
	mk("run-d", "other", "a/job.yaml", "refs/heads/main", 0, "ddd", engine.StateQueued, 4)
	mk("run-e", "demo", "a/job.yaml", "refs/heads/main", 0, "eee", engine.StateSucceeded, 5)
	mk("run-f", "demo", "a/job.yaml", "refs/heads/main", 0, "fff", engine.StateRunning, 5) // same time as e: ID breaks the tie

	for _, tc := range []struct {
		name string
		f    engine.RunFilter
		want string
	}{
		{"all, newest first", engine.RunFilter{}, "run-f run-e run-d run-c run-b run-a"},
		{"repo", engine.RunFilter{Repo: "demo"}, "run-f run-e run-c run-b run-a"},
		{"job", engine.RunFilter{Repo: "demo", JobPath: "a/job.yaml"}, "run-f run-e run-c run-a"},
		{"ref", engine.RunFilter{Ref: "refs/pull/7/head"}, "run-c"},
		{"pr", engine.RunFilter{PR: 7}, "run-c"},
		{"sha", engine.RunFilter{SHA: "aaa"}, "run-b run-a"},
		{"one state", engine.RunFilter{States: []engine.State{engine.StateSucceeded}}, "run-e run-a"},
		{"states", engine.RunFilter{States: []engine.State{engine.StateRunning, engine.StateQueued}}, "run-f run-d run-c"},
		{"limit", engine.RunFilter{Limit: 2}, "run-f run-e"},
		{"filter and limit", engine.RunFilter{Repo: "demo", States: []engine.State{engine.StateSucceeded, engine.StateFailed}, Limit: 2}, "run-e run-b"},
		{"no match", engine.RunFilter{Repo: "nope"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs, err := s.ListRuns(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(runs); got != tc.want {
				t.Errorf("ListRuns(%+v) = %q, want %q", tc.f, got, tc.want)
			}
		})
	}
	if _, err := s.ListRuns(ctx, engine.RunFilter{Limit: -1}); err == nil {
		t.Error("a negative limit was accepted")
	}

	active, err := s.ActiveRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(active); got != "run-c run-d run-f" {
		t.Errorf("ActiveRuns = %q, want the non-terminal runs oldest first", got)
	}
}

func TestLatestSucceeded(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	add := func(id, job, ref string, pr int, st engine.State, minute int) {
		r := newRun("demo", job, id, t0.Add(time.Duration(minute)*time.Minute))
		r.ID, r.Ref, r.PR, r.Trigger = id, ref, pr, engine.TriggerPush
		if pr != 0 {
			r.Trigger = engine.TriggerPullRequest
		}
		mustCreate(t, s, r)
		mustUpdate(t, s, r, st, "", r.CreatedAt)
	}
	add("old-main-ok", "a/job.yaml", "refs/heads/main", 0, engine.StateSucceeded, 1)
	add("main-ok", "a/job.yaml", "refs/heads/main", 0, engine.StateSucceeded, 2)
	add("main-fail", "a/job.yaml", "refs/heads/main", 0, engine.StateFailed, 3)
	add("pr-ok", "a/job.yaml", "refs/pull/9/head", 9, engine.StateSucceeded, 4)
	add("other-job-ok", "b/job.yaml", "refs/heads/main", 0, engine.StateSucceeded, 5)
	add("dev-ok", "a/job.yaml", "refs/heads/dev", 0, engine.StateSucceeded, 6)

	r, err := s.LatestSucceeded(ctx, "demo", "a/job.yaml", "main")
	if err != nil || r.ID != "main-ok" {
		t.Errorf("LatestSucceeded(main) = %v, %v; want main-ok", r, err)
	}
	r, err = s.LatestSucceeded(ctx, "demo", "a/job.yaml", "dev")
	if err != nil || r.ID != "dev-ok" {
		t.Errorf("LatestSucceeded(dev) = %v, %v; want dev-ok", r, err)
	}
	if _, err := s.LatestSucceeded(ctx, "demo", "c/job.yaml", "main"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("LatestSucceeded of a job without runs: %v, want ErrNotFound", err)
	}
}

func TestFindRun(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	for i, id := range []string{"abcdeaaaaaaaaaaaaaaa", "abcdebbbbbbbbbbbbbbb", "abcdfaaaaaaaaaaaaaaa", "abczzzzzzzzzzzzzzzzz", "abcd"} {
		r := newRun("demo", "a/job.yaml", fmt.Sprintf("%040d", i), t0)
		r.ID = id
		mustCreate(t, s, r)
	}
	for _, tc := range []struct {
		prefix, want, err string
		is                error
	}{
		{prefix: "abcdeaaaaaaaaaaaaaaa", want: "abcdeaaaaaaaaaaaaaaa"},
		{prefix: "abcdeb", want: "abcdebbbbbbbbbbbbbbb"},
		{prefix: "abcdf", want: "abcdfaaaaaaaaaaaaaaa"},
		{prefix: "abcz", want: "abczzzzzzzzzzzzzzzzz"},
		{prefix: "abcd", want: "abcd"}, // an exact ID wins over longer ones
		{prefix: "abcde", is: ErrAmbiguous, err: "abcdeaaaaaaaaaaaaaaa  demo a/job.yaml @ 00000000 (queued)\n  abcdebbbbbbbbbbbbbbb"},
		{prefix: "abce", is: engine.ErrNotFound, err: `no run ID starts with "abce"`},
		{prefix: "abc", err: "too short"},
		{prefix: "ABCD", err: "lowercase"},
		{prefix: "ab%d", err: "lowercase"},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			r, err := s.FindRun(ctx, tc.prefix)
			if tc.want != "" {
				if err != nil || r.ID != tc.want {
					t.Fatalf("FindRun(%q) = %v, %v; want %s", tc.prefix, r, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("FindRun(%q) = %s, want an error", tc.prefix, r.ID)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %q does not contain %q", err, tc.err)
			}
		})
	}
}

func ids(runs []*engine.Run) string {
	var b []string
	for _, r := range runs {
		b = append(b, r.ID)
	}
	return strings.Join(b, " ")
}
