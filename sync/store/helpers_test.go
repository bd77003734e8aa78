package store

import (
	"context"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// openAt opens a store at path and closes it when the test ends.
func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openTest opens a fresh store in the test's temp dir.
func openTest(t testing.TB) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "gitlaunch.db"))
}

// clock is a settable time source for the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(s *Store) *clock {
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s.now = c.Now
	return c
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// newRun returns a queued push run on main with a derived ID.
func newRun(repo, jobPath, sha string, created time.Time) *engine.Run {
	return &engine.Run{
		ID:        engine.RunID(repo, jobPath, sha, engine.TriggerPush, ""),
		Repo:      repo,
		RepoURL:   "https://example.test/" + repo + ".git",
		JobPath:   jobPath,
		JobName:   filepath.Base(filepath.Dir(jobPath)),
		SHA:       sha,
		Ref:       "refs/heads/main",
		Branch:    "main",
		Trigger:   engine.TriggerPush,
		State:     engine.StateQueued,
		Attempt:   1,
		CreatedAt: created,
		UpdatedAt: created,
	}
}

func mustCreate(t testing.TB, s *Store, r *engine.Run, reporters ...string) {
	t.Helper()
	created, err := s.CreateRun(context.Background(), r, reporters)
	if err != nil || !created {
		t.Fatalf("CreateRun(%s) = %v, %v; want true, nil", r.ID, created, err)
	}
}

func mustUpdate(t testing.TB, s *Store, r *engine.Run, st engine.State, reason string, at time.Time, reporters ...string) {
	t.Helper()
	r.State, r.Reason, r.UpdatedAt = st, reason, at
	if err := s.UpdateRun(context.Background(), r, reporters); err != nil {
		t.Fatalf("UpdateRun(%s → %s): %v", r.ID, st, err)
	}
}
