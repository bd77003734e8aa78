package engine

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitlaunch/gitlaunch/schema"
)

// ErrNotFound is returned (wrapped) by adapters when a run, Pod, process or
// commit does not exist.
var ErrNotFound = errors.New("not found")

// ErrDiskFull is returned (wrapped) by the store and executors when the
// data directory has no room left for a write. The engine ends a run whose
// output cannot be stored, with a reason that says so.
var ErrDiskFull = errors.New("data directory full")

// ---- Source: a watched git repository (implemented by sync/git) ----

// RefSnapshot is what a poll saw of a remote.
type RefSnapshot struct {
	// Head is the remote's default branch name (from its symbolic HEAD).
	Head string
	// Refs maps full ref names (refs/heads/*, refs/pull/*/head) to commits.
	// Every commit in it has been fetched and can be read.
	Refs map[string]string
	// Warnings name refs the remote advertised that were left out of Refs
	// (an invalid name, a ref the cache cannot store), one line each, the
	// names quoted. The poll itself succeeded.
	Warnings []string
}

// ManifestFile is one job.yaml read from a commit.
type ManifestFile struct {
	Path string // slash-separated, relative to the repository root
	Data []byte
	// Err is set when the entry could not be read as a regular file
	// (a symlink named job.yaml, a file over the size limit).
	Err error
}

// Source is one watched repository.
type Source interface {
	// Poll asks the remote for its refs and fetches those that changed.
	Poll(ctx context.Context) (RefSnapshot, error)
	// Manifests returns every job.yaml in the tree of commit sha.
	Manifests(ctx context.Context, sha string) ([]ManifestFile, error)
	// ChangedPaths lists paths that differ between two commits. An empty
	// from means "no base": the caller treats every job as changed.
	ChangedPaths(ctx context.Context, from, to string) ([]string, error)
}

// ---- Executor: runs rendered Pods (sync/local, sync/kube) ----

// Launch is everything an executor needs to run one run.
type Launch struct {
	Run *Run
	Job *schema.Job
	Pod *corev1.Pod
	// Secrets are the values for Job.Secrets, resolved by the engine for
	// trusted runs only (the local executor injects them; the kube
	// executor uses the Secret the Pod references and ignores these).
	Secrets map[string]string
}

// Update is a progress report from an executor.
type Update struct {
	State    State
	Reason   string
	ExitCode *int
	At       time.Time
	// Set with the terminal update, after the run's results were read.
	Artifacts []Artifact
	Metrics   map[string]float64
	// Retryable marks a terminal StateError caused by infrastructure
	// (eviction, node loss) that job.retries may re-run.
	Retryable bool
}

// Sink receives an executor's progress and log output for runs.
type Sink interface {
	Update(ctx context.Context, runID string, u Update) error
	// Log appends output to the run's log as it streams.
	Log(ctx context.Context, runID string, p []byte) error
}

// Executor runs launches. Start and Adopt return once the run is launched
// (or found); progress then arrives at the Sink until a terminal Update.
type Executor interface {
	// Start launches the run. If a run with this ID was already launched
	// (a restart, a duplicate event), it adopts it instead: never twice.
	Start(ctx context.Context, l Launch, sink Sink) error
	// Adopt follows a run launched by an earlier process; ErrNotFound when
	// it cannot be followed any more (the run is then marked lost).
	Adopt(ctx context.Context, l Launch, sink Sink) error
	// Cancel stops the run; its terminal Update is StateCancelled.
	Cancel(ctx context.Context, runID string) error
}

// ---- Reporter: tells people about runs (console, sync/github) ----

// Reporter delivers a run's current state somewhere people look. Report is
// called from the outbox; an error means "try again later".
type Reporter interface {
	Name() string
	Report(ctx context.Context, r *Run) error
}

// EveryStateReporter is a Reporter that wants to be told every state a run
// went through, also those the run has already left when the report is
// delivered (a console is a log of what happened). A plain Reporter is told
// only a run's current state; older outbox items are settled without a
// call.
type EveryStateReporter interface {
	Reporter
	EveryState() bool
}

// RetryAfterError is an error from Reporter.Report that knows when trying
// again can succeed (a rate limit's Retry-After). The outbox does not retry
// before then; it finds one with errors.As.
type RetryAfterError interface {
	error
	RetryAfter() time.Time
}
