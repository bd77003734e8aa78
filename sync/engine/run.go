package engine

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"

	"github.com/gitlaunch/gitlaunch/schema"
)

// Trigger is what caused a run.
type Trigger string

// Triggers, as seen in GITLAUNCH_TRIGGER.
const (
	TriggerPush        Trigger = "push"
	TriggerPullRequest Trigger = "pull_request"
	TriggerSchedule    Trigger = "schedule"
	TriggerComment     Trigger = "comment"
	TriggerManual      Trigger = "manual"
)

// State is where a run stands. The terminal states are Succeeded, Failed,
// TimedOut, Cancelled, Invalid and Error.
type State string

// Run states.
const (
	// StateQueued: planned, waiting for a concurrency slot.
	StateQueued State = "queued"
	// StateWaiting: an untrusted pull request waits for /gitlaunch ok-to-test.
	StateWaiting State = "waiting"
	// StatePending: launched, not running yet (scheduling, image pull, clone).
	StatePending   State = "pending"
	StateRunning   State = "running"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
	StateTimedOut  State = "timed_out"
	StateCancelled State = "cancelled"
	// StateInvalid: the manifest did not validate; nothing was launched.
	StateInvalid State = "invalid"
	// StateError: an infrastructure failure (clone failed, image pull,
	// eviction, node or syncer lost) that retries did not cure.
	StateError State = "error"
)

// AllStates lists every state, in the order a run goes through them.
var AllStates = []State{StateQueued, StateWaiting, StatePending, StateRunning,
	StateSucceeded, StateFailed, StateTimedOut, StateCancelled, StateInvalid, StateError}

// Terminal reports whether no further transition can follow.
func (s State) Terminal() bool {
	switch s {
	case StateSucceeded, StateFailed, StateTimedOut, StateCancelled, StateInvalid, StateError:
		return true
	}
	return false
}

// Active reports whether the run holds (or will soon hold) an executor slot.
func (s State) Active() bool { return s == StatePending || s == StateRunning }

// Run is one job at one commit for one trigger.
type Run struct {
	ID      string `json:"id"`
	Repo    string `json:"repo"`    // the repository's short name (/mnt/<repo>)
	RepoURL string `json:"repoURL"` // where the commit is fetched from
	JobPath string `json:"jobPath"` // manifest path in the repository, e.g. mnist/job.yaml
	JobName string `json:"job"`
	SHA     string `json:"sha"`
	Ref     string `json:"ref"`              // full ref, e.g. refs/heads/main, refs/pull/7/head
	Branch  string `json:"branch,omitempty"` // branch for push/schedule; head branch for PRs when known
	Base    string `json:"base,omitempty"`   // a pull request's target branch
	PR      int    `json:"pr,omitempty"`

	Trigger    Trigger `json:"trigger"`
	TriggerKey string  `json:"triggerKey,omitempty"` // cron slot, comment id, manual nonce
	// Untrusted runs (fork PRs, authors without write access) never get
	// the repository's secrets.
	Untrusted bool `json:"untrusted,omitempty"`

	State    State  `json:"state"`
	Reason   string `json:"reason,omitempty"` // why it is in State, for people
	ExitCode *int   `json:"exitCode,omitempty"`
	Attempt  int    `json:"attempt"` // 1 for the first launch
	QueuePos int    `json:"queuePos,omitempty"`

	GPU      int    `json:"gpu,omitempty"`
	GPUModel string `json:"gpuModel,omitempty"`

	// Manifest is the job.yaml the run was planned from, kept so that
	// retries and re-adoption after a restart need no git access.
	Manifest string `json:"manifest,omitempty"`

	Problems  []schema.Problem   `json:"problems,omitempty"`
	Artifacts []Artifact         `json:"artifacts,omitempty"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`

	CreatedAt  time.Time `json:"createdAt"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// Duration is how long the run ran, or has run so far.
func (r *Run) Duration(now time.Time) time.Duration {
	if r.StartedAt.IsZero() {
		return 0
	}
	if !r.FinishedAt.IsZero() {
		return r.FinishedAt.Sub(r.StartedAt)
	}
	return now.Sub(r.StartedAt)
}

// Artifact is a file a run left that matched results.artifacts.
type Artifact struct {
	Path string `json:"path"` // relative to the job's workdir
	Size int64  `json:"size"`
}

// Transition is one recorded state change.
type Transition struct {
	RunID  string    `json:"runID"`
	From   State     `json:"from"`
	To     State     `json:"to"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// RunID derives a run's identity from what makes it unique, so that a
// duplicate webhook or a restart plans the same ID and never launches twice.
// The result is 20 lowercase base32 characters (100 bits), DNS-1123 safe.
func RunID(repo, jobPath, sha string, trigger Trigger, triggerKey string) string {
	h := sha256.New()
	for _, part := range []string{repo, jobPath, sha, string(trigger), triggerKey} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return idEncoding.EncodeToString(h.Sum(nil))[:20]
}

// ShortSHA is the first 8 characters of a commit id.
func ShortSHA(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

// BranchOf returns the branch name of a refs/heads/ ref, or "".
func BranchOf(ref string) string {
	b, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		return ""
	}
	return b
}
