package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitlaunch/gitlaunch/schema"
)

// RenderFunc turns a job and its run into the Pod an executor runs. The
// engine takes it as a function so that it stays free of rendering policy
// (cmd wires in render.Pod with the admin's template).
type RenderFunc func(job *schema.Job, r *Run) (*corev1.Pod, error)

// Repo is one watched repository, as the engine knows it.
type Repo struct {
	Name          string
	URL           string
	DefaultBranch string // "" = the remote's HEAD
	Source        Source
	// Secrets are the values jobs may ask for in `secrets:`; they reach
	// trusted runs only.
	Secrets map[string]string
	// GitHub is "owner/name" when the repository's runs are reported to
	// GitHub (and its pull requests need a trust check).
	GitHub string
}

// PRInfo is what the forge says about a pull request.
type PRInfo struct {
	Base    string // target branch
	Branch  string // head branch
	Trusted bool   // not from a fork, and its author may write to the repository
	Open    bool
}

// PRInspector answers for pull requests found by polling (refs/pull/N/head)
// what a webhook would have said: target branch and trust. Without one,
// pull request refs are trusted and target the default branch, which is
// right for plain git servers, where only people with push access create
// refs/pull/*.
type PRInspector interface {
	InspectPR(ctx context.Context, repo *Repo, pr int, sha string) (PRInfo, error)
}

// Options configure an Engine.
type Options struct {
	Config    *schema.Config
	Store     Store
	Executor  Executor
	Reporters []Reporter
	Render    RenderFunc
	Repos     []*Repo
	Clock     Clock
	Logger    *slog.Logger
	// MaxRuns and MaxRunsPerRepo bound active runs; 0 = Config's values.
	MaxRuns        int
	MaxRunsPerRepo int
	// PollInterval between polls of each repository; 0 = Config's.
	PollInterval time.Duration
	// PRs inspects pull requests found by polling; optional.
	PRs PRInspector
	// ValidateWith is the admin's config when one was given: only then are
	// GPU models and datasets checked against its tables.
	ValidateWith *schema.Config
	// Hidden are values never stored from any run (log, reason, problems,
	// metric and artifact names), besides each repository's Secrets: the
	// syncer's GitHub token, webhook secret and git tokens.
	Hidden []string
	// StoreCheck says whether Store is still the store on disk (a deleted
	// or replaced file is not); while it fails, the engine plans and
	// launches nothing. nil: never checked.
	StoreCheck func(ctx context.Context) error
}

// Engine plans, dispatches and reports runs. Its methods are safe for
// concurrent use; Run drives them on timers, and tests drive the steps
// (PollRepo, Dispatch, DeliverReports, Cron) directly.
type Engine struct {
	cfg  *schema.Config
	prs  PRInspector
	vcfg *schema.Config
	// The store, by the part of the engine that uses it.
	runs    RunStore
	polls   PollStore
	crons   CronStore
	cancels CancelInbox
	logs    LogAppender
	outbox  OutboxStore

	// red redacts what runs store (see redact.go).
	red *redactors

	exec      Executor
	reporters []Reporter
	names     []string
	render    RenderFunc
	clock     Clock
	log       *slog.Logger

	maxRuns, maxPerRepo int
	pollEvery           time.Duration

	mu    sync.Mutex
	repos map[string]*repoState
	order []string
	// running holds run IDs launched by this process and not yet terminal.
	running map[string]*Run
	// jobs are the parsed jobs of unfinished runs, by run ID, so a run's
	// manifest is parsed and validated once, not at every launch and retry.
	jobs map[string]*schema.Job
	// wake nudges the dispatcher and waiters.
	wake chan struct{}
	// cancelReasons keeps why a launched run is being cancelled until its
	// executor confirms, so the confirmation keeps the person's reason.
	cancelReasons map[string]string
	// onlyJobs, when set, limits planning to these job names.
	onlyJobs []string
	// planMu serializes planning so two events for one repository cannot
	// interleave their superseded-run cancellation.
	planMu sync.Mutex
	// storeCheck and storeBad: see Options.StoreCheck and storeUsable.
	storeCheck func(ctx context.Context) error
	storeBad   bool
	// fullReasons holds why runs whose output the data directory had no
	// room for are being stopped, until they end (see endForDiskFull).
	fullReasons map[string]string
}

// repoState is what the engine knows of a watched repository. Guarded by
// Engine.mu; recordPoll alone sets the poll outcome (lastErr, failures,
// failingSince, nextPoll).
type repoState struct {
	*Repo
	// lastErr is the latest poll error, shown by `gitlaunch runs`/status.
	lastErr error
	// warning is what the store keeps of the latest successful poll's
	// warnings (PollWarning…), "" for none; warnSince is when they began.
	warning      string
	warnSince    time.Time
	failures     int
	failingSince time.Time
	nextPoll     time.Time
	// pollRequests counts PollNow calls (see recordPoll).
	pollRequests uint64
	head         string            // default branch seen at the last poll
	refs         map[string]string // last seen refs
	// planned are the refs whose changes were planned (what the store
	// keeps as PlannedRefs); nil until read from the store.
	planned   map[string]string
	schedules []*scheduleEntry
	// schedulesAt is the commit the schedules were loaded from.
	schedulesAt string
}

// New checks opts and returns an engine. Nothing starts until Run or a step
// method is called.
func New(opts Options) (*Engine, error) {
	if opts.Store == nil || opts.Executor == nil || opts.Render == nil {
		return nil, errors.New("engine: store, executor and render are required")
	}
	cfg := opts.Config
	if cfg == nil {
		cfg = &schema.Config{}
	}
	e := &Engine{
		cfg:           cfg,
		vcfg:          opts.ValidateWith,
		prs:           opts.PRs,
		red:           newRedactors(opts.Hidden),
		polls:         opts.Store,
		crons:         opts.Store,
		cancels:       opts.Store,
		logs:          opts.Store,
		outbox:        opts.Store,
		exec:          opts.Executor,
		reporters:     opts.Reporters,
		render:        opts.Render,
		clock:         opts.Clock,
		log:           opts.Logger,
		repos:         map[string]*repoState{},
		running:       map[string]*Run{},
		jobs:          map[string]*schema.Job{},
		cancelReasons: map[string]string{},
		fullReasons:   map[string]string{},
		wake:          make(chan struct{}, 1),
		storeCheck:    opts.StoreCheck,
	}
	e.runs = redactingRuns{RunStore: opts.Store, e: e}
	if e.clock == nil {
		e.clock = SystemClock
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	for _, r := range opts.Reporters {
		e.names = append(e.names, r.Name())
	}
	e.maxRuns = firstPositive(opts.MaxRuns, cfg.Sync.MaxRuns, 4)
	e.maxPerRepo = firstPositive(opts.MaxRunsPerRepo, cfg.Sync.MaxRunsPerRepo, e.maxRuns)
	e.pollEvery = opts.PollInterval
	if e.pollEvery <= 0 {
		e.pollEvery = cfg.Sync.PollInterval.Duration
	}
	if e.pollEvery <= 0 {
		e.pollEvery = 30 * time.Second
	}
	for _, r := range opts.Repos {
		if err := e.AddRepo(r); err != nil {
			return nil, err
		}
	}
	// A repository that failed before a restart is still failing as far
	// as anyone knows; its first good poll clears the stored error.
	if stored, err := e.polls.PollErrors(context.Background()); err == nil {
		for _, pe := range stored {
			rs, ok := e.repos[pe.Repo]
			switch {
			case !ok:
			case pe.Warning():
				rs.warning, rs.warnSince = pe.Err, pe.Since
			default:
				rs.lastErr, rs.failingSince = errors.New(pe.String()), pe.Since
			}
		}
	}
	return e, nil
}

func firstPositive(vs ...int) int {
	for _, v := range vs {
		if v > 0 {
			return v
		}
	}
	return 0
}

// AddRepo starts watching r.
func (e *Engine) AddRepo(r *Repo) error {
	if r.Name == "" || r.Source == nil {
		return errors.New("engine: a repository needs a name and a source")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.repos[r.Name]; ok {
		return fmt.Errorf("engine: repository %q is watched twice", r.Name)
	}
	e.repos[r.Name] = &repoState{Repo: r}
	e.order = append(e.order, r.Name)
	e.red.mu.Lock()
	delete(e.red.byRepo, r.Name) // built before the repository's secrets were known
	e.red.mu.Unlock()
	return nil
}

// Repo returns a watched repository by name.
func (e *Engine) Repo(name string) (*Repo, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rs, ok := e.repos[name]
	if !ok {
		return nil, false
	}
	return rs.Repo, true
}

// OnlyJobs limits planning to jobs with these names (nil: every job).
func (e *Engine) OnlyJobs(names []string) {
	e.mu.Lock()
	e.onlyJobs = names
	e.mu.Unlock()
}

// RepoWarning is what the latest successful poll of a repository warned
// about (refs it skipped), "" for nothing.
func (e *Engine) RepoWarning(name string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if rs, ok := e.repos[name]; ok {
		return strings.TrimPrefix(rs.warning, PollWarning)
	}
	return ""
}

// RepoError is the latest poll error of a repository, nil when healthy.
func (e *Engine) RepoError(name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if rs, ok := e.repos[name]; ok {
		return rs.lastErr
	}
	return nil
}

func (e *Engine) nudge() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run drives the engine until ctx ends: it re-adopts runs left by an
// earlier process, then polls, fires cron slots, dispatches and delivers
// reports.
func (e *Engine) Run(ctx context.Context) error {
	if err := e.Recover(ctx); err != nil {
		return err
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		e.Step(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-e.wake:
		}
	}
}

// Step runs one round of every duty whose time has come; errors are logged
// and kept per repository, never fatal.
func (e *Engine) Step(ctx context.Context) {
	if !e.storeUsable(ctx) {
		// Runs already launched go on reporting; nothing new starts.
		if err := e.DeliverReports(ctx); err != nil {
			e.log.Error("deliver reports", "err", err)
		}
		return
	}
	e.pollDue(ctx)
	e.Cron(ctx)
	if err := e.CancelRequested(ctx); err != nil {
		e.log.Error("cancel requests", "err", err)
	}
	if err := e.Dispatch(ctx); err != nil {
		e.log.Error("dispatch", "err", err)
	}
	if err := e.DeliverReports(ctx); err != nil {
		e.log.Error("deliver reports", "err", err)
	}
}

func (e *Engine) pollDue(ctx context.Context) {
	now := e.clock.Now()
	e.mu.Lock()
	var due []string
	for _, name := range e.order {
		if !now.Before(e.repos[name].nextPoll) {
			due = append(due, name)
		}
	}
	e.mu.Unlock()
	for _, name := range due {
		if _, err := e.PollRepo(ctx, name); err != nil {
			e.log.Warn("poll failed", "repo", name, "err", err)
		}
	}
}

// PollNow makes the next step poll the repository at once (a webhook said
// it changed); polling stays the one path that fetches and plans, so a
// webhook and a poll can never plan twice.
func (e *Engine) PollNow(name string) bool {
	e.mu.Lock()
	rs, ok := e.repos[name]
	if ok {
		rs.nextPoll = time.Time{}
		rs.pollRequests++
	}
	e.mu.Unlock()
	if ok {
		e.nudge()
	}
	return ok
}

// RepoByGitHub finds a watched repository by its "owner/name" on GitHub.
func (e *Engine) RepoByGitHub(fullName string) (*Repo, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, name := range e.order {
		if rs := e.repos[name]; strings.EqualFold(rs.GitHub, fullName) {
			return rs.Repo, true
		}
	}
	return nil, false
}
