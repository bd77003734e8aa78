package store

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
)

func TestPlannedRefs(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if refs, ok, err := s.PlannedRefs(ctx, "demo"); ok || err != nil || len(refs) != 0 {
		t.Fatalf("PlannedRefs of a new repository = %v, %v, %v; want empty, false, nil", refs, ok, err)
	}
	// An empty set is remembered: the repository is no longer new.
	if err := s.SavePlannedRefs(ctx, "demo", map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if refs, ok, err := s.PlannedRefs(ctx, "demo"); !ok || err != nil || len(refs) != 0 {
		t.Fatalf("PlannedRefs after saving none = %v, %v, %v; want empty, true, nil", refs, ok, err)
	}
	for _, want := range []map[string]string{
		{"refs/heads/main": "a1", "refs/heads/dev": "b1", "refs/pull/7/head": "c1"},
		{"refs/heads/main": "a2", "refs/pull/7/head": "c1", "refs/pull/8/head": "d1"}, // moved, deleted, added
		{},
	} {
		if err := s.SavePlannedRefs(ctx, "demo", want); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.PlannedRefs(ctx, "demo"); !ok || err != nil || !maps.Equal(got, want) {
			t.Errorf("PlannedRefs = %v, %v, %v; want %v", got, ok, err, want)
		}
	}
	if err := s.SavePlannedRefs(ctx, "other", map[string]string{"refs/heads/main": "e1"}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.PlannedRefs(ctx, "demo"); len(got) != 0 {
		t.Errorf("another repository's refs leaked: %v", got)
	}
	if err := s.SavePlannedRefs(ctx, "", nil); err == nil {
		t.Error("an empty repository name was accepted")
	}
}

func TestPollErrors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	since := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, e := range []engine.PollError{
		{Repo: "zeta", Err: "connection refused", Since: since, NextTry: since.Add(time.Minute)},
		{Repo: "alpha", Err: "authentication required"},
		{Repo: "zeta", Err: "timeout", Since: since, NextTry: since.Add(2 * time.Minute)}, // replaces
	} {
		if err := s.PutPollError(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	want := []engine.PollError{
		{Repo: "alpha", Err: "authentication required"},
		{Repo: "zeta", Err: "timeout", Since: since, NextTry: since.Add(2 * time.Minute)},
	}
	if got, err := s.PollErrors(ctx); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("PollErrors = %+v, %v; want %+v", got, err, want)
	}
	if got := want[1].String(); got != "timeout (since 2026-03-01T10:00:00Z; next try 2026-03-01T10:02:00Z)" {
		t.Errorf("String = %q", got)
	}
	if got := want[0].String(); got != "authentication required" {
		t.Errorf("String without times = %q", got)
	}
	if err := s.DeletePollError(ctx, "zeta"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePollError(ctx, "never-failed"); err != nil {
		t.Errorf("deleting a missing error: %v", err)
	}
	if got, err := s.PollErrors(ctx); err != nil || !reflect.DeepEqual(got, want[:1]) {
		t.Errorf("PollErrors after delete = %+v, %v", got, err)
	}
	if err := s.PutPollError(ctx, engine.PollError{Err: "x"}); err == nil {
		t.Error("a poll error without a repository was accepted")
	}
}

func TestCronSlots(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	nightly := engine.CronKey{Repo: "demo", JobPath: "nightly/job.yaml", Branch: "main", Timezone: "Asia/Seoul", Spec: "0 3 * * *"}
	if last, ok, err := s.CronSlot(ctx, nightly); ok || err != nil || !last.IsZero() {
		t.Fatalf("CronSlot of a new schedule = %v, %v, %v", last, ok, err)
	}
	slot := time.Date(2026, 3, 1, 18, 0, 0, 0, time.UTC)
	for _, at := range []time.Time{slot, slot.Add(24 * time.Hour)} {
		if err := s.PutCronSlot(ctx, nightly, at); err != nil {
			t.Fatal(err)
		}
		if last, ok, err := s.CronSlot(ctx, nightly); !ok || err != nil || !last.Equal(at) {
			t.Errorf("CronSlot = %v, %v, %v; want %v", last, ok, err, at)
		}
	}
	// Any part of the key makes another schedule.
	for _, other := range []engine.CronKey{
		{Repo: "demo", JobPath: "nightly/job.yaml", Branch: "main", Timezone: "UTC", Spec: "0 3 * * *"},
		{Repo: "demo", JobPath: "nightly/job.yaml", Branch: "dev", Timezone: "Asia/Seoul", Spec: "0 3 * * *"},
		{Repo: "demo", JobPath: "nightly/job.yaml", Branch: "main", Timezone: "Asia/Seoul", Spec: "0 4 * * *"},
		{Repo: "other", JobPath: "nightly/job.yaml", Branch: "main", Timezone: "Asia/Seoul", Spec: "0 3 * * *"},
	} {
		if _, ok, err := s.CronSlot(ctx, other); ok || err != nil {
			t.Errorf("CronSlot(%+v) = %v, %v; want a new schedule", other, ok, err)
		}
	}
	if err := s.PutCronSlot(ctx, nightly, time.Time{}); err == nil {
		t.Error("a zero slot was accepted")
	}
	if err := s.PutCronSlot(ctx, engine.CronKey{Repo: "demo"}, slot); err == nil {
		t.Error("an incomplete key was accepted")
	}
}

func TestCancelRequests(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	c := newClock(s)
	a := newRun("demo", "a/job.yaml", sha1, t0)
	b := newRun("demo", "b/job.yaml", sha1, t0)
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	if err := s.RequestCancel(ctx, engine.CancelRequest{RunID: "nosuchrun", Reason: "x"}); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("RequestCancel of an unknown run = %v, want ErrNotFound", err)
	}
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	reqs := []engine.CancelRequest{
		{RunID: a.ID, Reason: "first", By: "alice", At: at},
		{RunID: b.ID, Reason: "second", By: "bob"}, // At: the store's now
		{RunID: a.ID, Reason: "third", By: "carol", At: at.Add(time.Second)},
	}
	for _, r := range reqs {
		if err := s.RequestCancel(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	reqs[1].At = c.Now()
	got, err := s.TakeCancelRequests(ctx)
	if err != nil || !reflect.DeepEqual(got, reqs) {
		t.Fatalf("TakeCancelRequests = %+v, %v; want %+v", got, err, reqs)
	}
	if again, err := s.TakeCancelRequests(ctx); err != nil || len(again) != 0 {
		t.Errorf("requests were handed out twice: %+v, %v", again, err)
	}
	late := engine.CancelRequest{RunID: b.ID, Reason: "late", By: "dan", At: at}
	if err := s.RequestCancel(ctx, late); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TakeCancelRequests(ctx); err != nil || !reflect.DeepEqual(got, []engine.CancelRequest{late}) {
		t.Errorf("TakeCancelRequests after a new request = %+v, %v", got, err)
	}
}

// TestMigrateKVState opens a database written by schema version 1, whose
// engine state lived in kv rows with composed keys, and finds that state
// through the typed methods.
func TestMigrateKVState(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gitlaunch.db")
	current := migrations
	withMigrations(t, current[:1])
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r := newRun("demo", "a/job.yaml", sha1, t0)
	mustCreate(t, s, r)
	nightly := engine.CronKey{Repo: "demo", JobPath: "ml/nightly/job.yaml", Branch: "release/v1", Timezone: "Asia/Seoul", Spec: "*/15 3 * * *"}
	for k, v := range map[string]string{
		"refs/demo":       `{"refs/heads/main":"a1","refs/pull/7/head":"c1"}`,
		"refs/empty":      `{}`,
		"refs/broken":     `not json`,
		"refs/notobject":  `["refs/heads/main"]`,
		"repo-errors":     `{"dead":"connection refused (since 2026-03-01T10:00:00Z; next try 2026-03-01T10:01:00Z)","ok":""}`,
		"cancel/" + r.ID:  "asked by bob",
		"cancel/settled":  "",
		"cancel/nosuchrn": "a run that is gone",
		"cron/demo/ml/nightly/job.yaml/release/v1/Asia/Seoul/*/15 3 * * *": "2026-03-01T18:15:00Z",
		"cron/demo/unreadable/job.yaml/main/UTC/0 3 * * *":                 "not a time",
	} {
		if _, err := s.w.ExecContext(ctx, `INSERT INTO kv (key, value) VALUES (?, ?)`, k, v); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	withMigrations(t, current)
	s = openAt(t, path)
	if v := userVersion(t, path); v != len(current) {
		t.Errorf("user_version = %d, want %d", v, len(current))
	}
	for repo, want := range map[string]map[string]string{
		"demo":  {"refs/heads/main": "a1", "refs/pull/7/head": "c1"},
		"empty": {},
	} {
		if got, ok, err := s.PlannedRefs(ctx, repo); !ok || err != nil || !maps.Equal(got, want) {
			t.Errorf("PlannedRefs(%s) = %v, %v, %v; want %v", repo, got, ok, err, want)
		}
	}
	for _, repo := range []string{"broken", "notobject"} {
		if _, ok, err := s.PlannedRefs(ctx, repo); ok || err != nil {
			t.Errorf("PlannedRefs(%s) from an unreadable value = %v, %v; want a new repository", repo, ok, err)
		}
	}
	wantErrs := []engine.PollError{{Repo: "dead", Err: "connection refused (since 2026-03-01T10:00:00Z; next try 2026-03-01T10:01:00Z)"}}
	if got, err := s.PollErrors(ctx); err != nil || !reflect.DeepEqual(got, wantErrs) {
		t.Errorf("PollErrors = %+v, %v; want %+v", got, err, wantErrs)
	}
	if got := wantErrs[0].String(); got != "connection refused (since 2026-03-01T10:00:00Z; next try 2026-03-01T10:01:00Z)" {
		t.Errorf("a carried poll error reads %q", got)
	}
	reqs, err := s.TakeCancelRequests(ctx)
	if err != nil || len(reqs) != 1 || reqs[0].RunID != r.ID || reqs[0].Reason != "asked by bob" || reqs[0].At.IsZero() {
		t.Errorf("carried cancel requests = %+v, %v; want the one open request for an existing run", reqs, err)
	}
	// Cron slots are read from their old rows until handled again.
	want := time.Date(2026, 3, 1, 18, 15, 0, 0, time.UTC)
	if last, ok, err := s.CronSlot(ctx, nightly); !ok || err != nil || !last.Equal(want) {
		t.Errorf("CronSlot from the old row = %v, %v, %v; want %v", last, ok, err, want)
	}
	unreadable := engine.CronKey{Repo: "demo", JobPath: "unreadable/job.yaml", Branch: "main", Timezone: "UTC", Spec: "0 3 * * *"}
	if _, ok, err := s.CronSlot(ctx, unreadable); ok || err != nil {
		t.Errorf("an unreadable old slot = %v, %v; want a new schedule", ok, err)
	}
	if err := s.PutCronSlot(ctx, nightly, want.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if last, ok, err := s.CronSlot(ctx, nightly); !ok || err != nil || !last.Equal(want.Add(15*time.Minute)) {
		t.Errorf("CronSlot after PutCronSlot = %v, %v, %v", last, ok, err)
	}
	var left []string
	rows, err := s.r.QueryContext(ctx, `SELECT key FROM kv ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		left = append(left, k)
	}
	if want := []string{"cron/demo/unreadable/job.yaml/main/UTC/0 3 * * *"}; !reflect.DeepEqual(left, want) {
		t.Errorf("kv rows left = %q, want %q (carried rows and replaced slots go)", left, want)
	}
}
