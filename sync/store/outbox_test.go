package store

import (
	"context"
	"errors"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"strings"
	"testing"
	"time"
)

// reporters renders due items as "reporter:state ..." in the order given.
func reporters(items []engine.OutboxItem) string {
	var b []string
	for _, it := range items {
		b = append(b, it.Reporter+":"+string(it.State))
	}
	return strings.Join(b, " ")
}

func TestOutboxEnqueuesOncePerReporterAndState(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	c := newClock(s)
	r := newRun("demo", "a/job.yaml", sha1, t0)
	mustCreate(t, s, r, "console", "github")
	c.Advance(time.Second)
	mustUpdate(t, s, r, engine.StatePending, "", t0, "console", "github")
	c.Advance(time.Second)
	mustUpdate(t, s, r, engine.StatePending, "saved again", t0, "console", "github")

	due, err := s.DueReports(ctx, c.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := reporters(due), "console:queued github:queued console:pending github:pending"; got != want {
		t.Fatalf("due = %s, want %s", got, want)
	}
	for _, it := range due {
		if it.RunID != r.ID || it.Attempts != 0 || it.LastErr != "" {
			t.Errorf("new item %+v", it)
		}
		if err := s.MarkDelivered(ctx, it.ID); err != nil {
			t.Fatal(err)
		}
	}

	// Re-entering delivered states (a retry goes back to queued, then
	// pending) reports nothing again; a new state is reported, and only to
	// the reporters given now.
	mustUpdate(t, s, r, engine.StateQueued, "retry", t0, "console", "github")
	mustUpdate(t, s, r, engine.StatePending, "relaunched", t0, "console", "github")
	mustUpdate(t, s, r, engine.StateRunning, "", t0, "github")
	due, err = s.DueReports(ctx, c.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := reporters(due); got != "github:running" {
		t.Errorf("due after re-entering states = %q, want github:running", got)
	}
	ts, _ := s.Transitions(ctx, r.ID)
	if len(ts) != 5 {
		t.Errorf("%d transitions, want 5 (re-entries are still recorded)", len(ts))
	}
}

func TestOutboxDueOrderAndBackoff(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	c := newClock(s)
	var runs []*engine.Run
	for i := range 3 {
		r := newRun("demo", fmt.Sprintf("j%d/job.yaml", i), sha1, t0)
		r.UpdatedAt = c.Now() // reports are due at the transition's time
		mustCreate(t, s, r, "github")
		runs = append(runs, r)
		c.Advance(time.Second)
	}
	due, err := s.DueReports(ctx, c.Now(), 0)
	if err != nil || len(due) != 3 {
		t.Fatalf("DueReports = %v, %v", due, err)
	}
	for i, it := range due {
		if it.RunID != runs[i].ID {
			t.Errorf("due[%d] is %s, want enqueue order", i, it.RunID)
		}
	}
	if future, _ := s.DueReports(ctx, c.Now().Add(-10*time.Second), 0); len(future) != 0 {
		t.Errorf("items enqueued later are due earlier: %+v", future)
	}

	// The first fails twice: it moves behind the others and is not due
	// until its backoff passes.
	first := due[0]
	retry := c.Now().Add(time.Minute)
	if err := s.MarkFailed(ctx, first.ID, errors.New("HTTP 502"), c.Now().Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, first.ID, errors.New("HTTP 503"), retry); err != nil {
		t.Fatal(err)
	}
	due, err = s.DueReports(ctx, c.Now(), 0)
	if err != nil || len(due) != 2 || due[0].RunID != runs[1].ID {
		t.Fatalf("due before the backoff = %+v, %v", due, err)
	}
	if got, _ := s.DueReports(ctx, c.Now(), 1); len(got) != 1 || got[0].ID != due[0].ID {
		t.Errorf("limit 1 = %+v, want the earliest item", got)
	}
	due, err = s.DueReports(ctx, retry, 0)
	if err != nil || len(due) != 3 {
		t.Fatalf("due after the backoff = %+v, %v", due, err)
	}
	last := due[2]
	if last.ID != first.ID || last.Attempts != 2 || last.LastErr != "HTTP 503" || !last.NextAt.Equal(retry) {
		t.Errorf("failed item = %+v, want 2 attempts, last error, next at %v", last, retry)
	}

	// Delivered items are never due again, and a late failure mark does
	// not revive them.
	if err := s.MarkDelivered(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkFailed(ctx, first.ID, errors.New("late"), retry); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDelivered(ctx, first.ID); err != nil {
		t.Errorf("marking delivered twice: %v", err)
	}
	due, _ = s.DueReports(ctx, retry.Add(time.Hour), 0)
	for _, it := range due {
		if it.ID == first.ID {
			t.Errorf("delivered item is due: %+v", it)
		}
	}
	if len(due) != 2 {
		t.Errorf("%d due, want 2", len(due))
	}

	if err := s.MarkDelivered(ctx, 999); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("MarkDelivered(999) = %v, want ErrNotFound", err)
	}
	if err := s.MarkFailed(ctx, 999, errors.New("x"), retry); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("MarkFailed(999) = %v, want ErrNotFound", err)
	}
	if _, err := s.DueReports(ctx, retry, -1); err == nil {
		t.Error("negative limit accepted")
	}
}
