package engine

import (
	"context"
	"strings"
	"time"
)

// ---- Store: run history, logs, outbox, engine state (sync/store) ----

// RunFilter selects runs; zero fields match everything.
type RunFilter struct {
	Repo    string
	JobPath string
	Ref     string
	PR      int
	SHA     string
	States  []State
	Limit   int // newest first; 0 = no limit
}

// OutboxItem is a report still to deliver: reporter Reporter must be told
// that run RunID reached State.
type OutboxItem struct {
	ID       int64
	Reporter string
	RunID    string
	State    State
	Attempts int
	NextAt   time.Time
	LastErr  string
}

// PollError is a repository's failing poll, kept across restarts and shown
// by `gitlaunch runs`; or, when Warning says so, a poll that succeeded but
// left some refs out (RefSnapshot.Warnings).
type PollError struct {
	Repo string
	Err  string // what polling said
	// Since is when polling started failing and NextTry when it is tried
	// again; zero when unknown.
	Since, NextTry time.Time
}

// PollWarning starts the Err of a PollError that is a warning.
const PollWarning = "warning: "

// Warning reports whether the poll succeeded and only warned.
func (p PollError) Warning() bool { return strings.HasPrefix(p.Err, PollWarning) }

// String is the error with when it started and when it is tried again.
func (p PollError) String() string {
	var when []string
	if !p.Since.IsZero() {
		when = append(when, "since "+p.Since.UTC().Format(time.RFC3339))
	}
	if !p.NextTry.IsZero() {
		when = append(when, "next try "+p.NextTry.UTC().Format(time.RFC3339))
	}
	if len(when) == 0 {
		return p.Err
	}
	return p.Err + " (" + strings.Join(when, "; ") + ")"
}

// CronKey names one `on.schedule` item of one job: the store keeps its last
// handled slot under it. A changed cron spec, time zone or branch is a new
// schedule.
type CronKey struct {
	Repo    string
	JobPath string
	Branch  string
	// Timezone is the location's name as time.Location.String gives it
	// ("UTC" for an empty timezone).
	Timezone string
	Spec     string
}

// CancelRequest asks the dispatching process to cancel a run. Other
// processes (the CLI) file requests in the store, and the dispatcher takes
// them: only it talks to the executor, so only it cancels.
type CancelRequest struct {
	RunID  string
	Reason string    // shown in reports
	By     string    // who asked
	At     time.Time // when; zero = the store's now
}

// The engine's store is split by the part of the engine that uses it; each
// part holds only its own slice. sync/store.Store implements them all.

// RunStore is the run table as planning, dispatch and executors' progress
// (the Sink) read and write it.
type RunStore interface {
	// CreateRun inserts r unless a run with r.ID exists; created says which.
	// A created run records its initial Transition ("" → r.State) and
	// enqueues an outbox item for each reporter, in the same transaction.
	CreateRun(ctx context.Context, r *Run, reporters []string) (created bool, err error)
	GetRun(ctx context.Context, id string) (*Run, error)
	ListRuns(ctx context.Context, f RunFilter) ([]*Run, error)
	// UpdateRun saves r; when r.State differs from the stored state it
	// records a Transition and enqueues an outbox item for each reporter
	// in the same transaction.
	UpdateRun(ctx context.Context, r *Run, reporters []string) error
}

// PollStore is what polling keeps across restarts: the refs it planned for
// and the repositories it cannot reach.
type PollStore interface {
	// PlannedRefs are the refs (name → commit) of repo whose changes were
	// planned; ok is false when none were ever saved (first sight).
	PlannedRefs(ctx context.Context, repo string) (refs map[string]string, ok bool, err error)
	// SavePlannedRefs replaces repo's planned refs.
	SavePlannedRefs(ctx context.Context, repo string, refs map[string]string) error
	// PutPollError records a repository's failing poll; DeletePollError
	// forgets it; PollErrors lists them by repository.
	PutPollError(ctx context.Context, e PollError) error
	DeletePollError(ctx context.Context, repo string) error
	PollErrors(ctx context.Context) ([]PollError, error)
}

// CronStore is what the cron step keeps: each schedule's last handled slot.
type CronStore interface {
	// CronSlot is the last handled slot of a schedule; ok is false for a
	// schedule never seen.
	CronSlot(ctx context.Context, k CronKey) (last time.Time, ok bool, err error)
	PutCronSlot(ctx context.Context, k CronKey, last time.Time) error
}

// CancelInbox is where the dispatcher finds the cancel requests other
// processes filed.
type CancelInbox interface {
	// TakeCancelRequests returns the open cancel requests, oldest first,
	// and settles them: each is taken once.
	TakeCancelRequests(ctx context.Context) ([]CancelRequest, error)
}

// LogAppender keeps what executors report as a run's output (Sink.Log).
type LogAppender interface {
	AppendLog(ctx context.Context, runID string, p []byte) error
}

// OutboxStore is what report delivery needs besides the runs.
type OutboxStore interface {
	DueReports(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error)
	MarkDelivered(ctx context.Context, id int64) error
	MarkFailed(ctx context.Context, id int64, err error, next time.Time) error
	// Transitions tell a reporter that wants every state
	// (EveryStateReporter) why and when a run entered an earlier one.
	Transitions(ctx context.Context, runID string) ([]Transition, error)
}

// Store is everything the engine keeps: what Options.Store must be.
type Store interface {
	RunStore
	PollStore
	CronStore
	CancelInbox
	LogAppender
	OutboxStore
}
