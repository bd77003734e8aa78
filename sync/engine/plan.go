package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gitlaunch/gitlaunch/schema"
)

// PollRepo polls one repository and plans runs for what changed. On first
// sight of a repository its branch heads count as pushed (a new user sees
// their jobs run at once), never its history, and pull request refs are
// only remembered: on GitHub refs/pull/N/head stays forever, also for
// closed pull requests, so running them all would replay history.
func (e *Engine) PollRepo(ctx context.Context, name string) ([]*Run, error) {
	e.mu.Lock()
	rs, ok := e.repos[name]
	e.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("poll: repository %q is not watched", name)
	}
	snap, err := rs.Source.Poll(ctx)
	now := e.clock.Now()
	e.mu.Lock()
	if err != nil {
		rs.failures++
		rs.lastErr = err
		rs.nextPoll = now.Add(backoff(rs.failures, e.pollEvery, 10*time.Minute))
		next := rs.nextPoll
		e.mu.Unlock()
		if serr := e.polls.PutPollError(ctx, PollError{Repo: name, Err: err.Error(), Since: now, NextTry: next}); serr != nil {
			e.log.Warn("store repo error", "repo", name, "err", serr)
		}
		return nil, fmt.Errorf("poll %s: %w", name, err)
	}
	hadErr := rs.lastErr != nil
	rs.failures, rs.lastErr = 0, nil
	rs.nextPoll = now.Add(e.pollEvery)
	e.mu.Unlock()
	if hadErr {
		if err := e.polls.DeletePollError(ctx, name); err != nil {
			e.log.Warn("store repo error", "repo", name, "err", err)
		}
	}

	// The refs already planned for: read from the store once, then kept
	// in memory, so an unchanged poll (the common case, for every
	// repository every interval) costs no store I/O.
	e.mu.Lock()
	old := rs.planned
	e.mu.Unlock()
	seen := old != nil
	if !seen {
		if old, seen, err = e.polls.PlannedRefs(ctx, name); err != nil {
			return nil, err
		}
	}
	head := rs.DefaultBranch
	if head == "" {
		head = snap.Head
	}
	events := diffRefs(name, head, old, seen, snap.Refs)

	var planned []*Run
	var errs []error
	var retry []string
	// Deleted refs: what still waits or runs there has lost its reason.
	for ref := range old {
		if _, ok := snap.Refs[ref]; !ok {
			if err := e.cancelRef(ctx, name, ref, "ref "+ref+" was deleted"); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, ev := range events {
		if ev.Trigger == TriggerPullRequest && e.prs != nil && rs.GitHub != "" {
			info, err := e.prs.InspectPR(ctx, rs.Repo, ev.PR, ev.After)
			if err != nil {
				// Forget we saw it, so the next poll asks again.
				errs = append(errs, fmt.Errorf("pull request #%d: %w", ev.PR, err))
				retry = append(retry, ev.Ref)
				continue
			}
			if !info.Open {
				continue
			}
			ev.Base, ev.Branch, ev.Untrusted = info.Base, info.Branch, !info.Trusted
			if b := snap.Refs["refs/heads/"+info.Base]; b != "" {
				ev.Before = b
			}
		}
		runs, err := e.Submit(ctx, ev)
		if err != nil {
			errs = append(errs, err)
		}
		planned = append(planned, runs...)
	}
	seenRefs := snap.Refs
	if len(retry) > 0 {
		seenRefs = maps.Clone(snap.Refs)
		for _, ref := range retry {
			if prev, ok := old[ref]; ok {
				seenRefs[ref] = prev
			} else {
				delete(seenRefs, ref)
			}
		}
	}
	headRef := "refs/heads/" + head
	e.mu.Lock()
	prevHead := rs.refs[headRef]
	rs.head = head
	rs.refs = snap.Refs
	e.mu.Unlock()
	if sha := snap.Refs[headRef]; sha != "" && (sha != prevHead || rs.schedules == nil) {
		if err := e.loadSchedules(ctx, rs, sha); err != nil {
			errs = append(errs, err)
		}
	}
	var keep map[string]string // nil: read the store again next time
	if seen {
		keep = old
	}
	if !seen || !maps.Equal(old, seenRefs) {
		if err := e.polls.SavePlannedRefs(ctx, name, seenRefs); err != nil {
			errs = append(errs, err)
		} else {
			keep = seenRefs
		}
	}
	e.mu.Lock()
	rs.planned = keep
	e.mu.Unlock()
	return planned, errors.Join(errs...)
}

// diffRefs turns the change between two ref sets into events, sorted by
// ref so that planning is deterministic.
func diffRefs(repo, head string, old map[string]string, seen bool, refs map[string]string) []Event {
	var evs []Event
	for ref, sha := range refs {
		prev, had := old[ref]
		if had && prev == sha {
			continue
		}
		if b := BranchOf(ref); b != "" {
			before := prev
			if !seen {
				before = ""
			}
			evs = append(evs, Event{Repo: repo, Trigger: TriggerPush, Ref: ref, Branch: b, Before: before, After: sha, Key: ref})
			continue
		}
		if n, ok := PullNumber(ref); ok && seen {
			evs = append(evs, Event{Repo: repo, Trigger: TriggerPullRequest, Ref: ref, PR: n, Base: head,
				Before: refs["refs/heads/"+head], After: sha, Key: ref})
		}
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].Ref < evs[j].Ref })
	return evs
}

// PullNumber parses refs/pull/N/head.
func PullNumber(ref string) (int, bool) {
	rest, ok := strings.CutPrefix(ref, "refs/pull/")
	if !ok {
		return 0, false
	}
	num, ok := strings.CutSuffix(rest, "/head")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil && n > 0
}

// backoff is exponential with full jitter: a flapping remote is retried
// soon, a dead one rarely, and many repositories never retry in lockstep.
func backoff(failures int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d/2 + rand.N(d/2+1)
}

// Submit plans the runs an event asks for and stores them. Runs already
// planned for the same identity are returned as they are: a duplicate
// webhook or a poll after a webhook plans nothing new.
func (e *Engine) Submit(ctx context.Context, ev Event) ([]*Run, error) {
	e.planMu.Lock()
	defer e.planMu.Unlock()
	rs, ok := e.Repo(ev.Repo)
	if !ok {
		return nil, fmt.Errorf("plan: repository %q is not watched", ev.Repo)
	}
	files, err := rs.Source.Manifests(ctx, ev.After)
	if err != nil {
		return nil, fmt.Errorf("plan %s@%s: %w", ev.Repo, ShortSHA(ev.After), err)
	}
	var changed []string
	if ev.Before != "" && ev.Before != ev.After && !ev.Force {
		changed, err = rs.Source.ChangedPaths(ctx, ev.Before, ev.After)
		if err != nil {
			e.log.Warn("cannot list changed paths; every job counts as changed", "repo", ev.Repo, "err", err)
			changed = nil
		}
	}
	head := e.defaultBranch(rs)
	jobs := e.parse(files)

	var runs []*Run
	var errs []error
	for _, pj := range jobs {
		if len(ev.Jobs) > 0 && !slices.Contains(ev.Jobs, pj.name) {
			continue
		}
		if only := e.only(); len(only) > 0 && !slices.Contains(only, pj.name) {
			continue
		}
		r, err := e.planJob(ctx, rs, ev, head, pj, changed)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if r != nil {
			runs = append(runs, r)
		}
	}
	if len(runs) > 0 {
		e.nudge()
	}
	return runs, errors.Join(errs...)
}

// parsedJob is a manifest after validation: job is nil when problems is
// not empty.
type parsedJob struct {
	path     string
	name     string
	data     []byte
	job      *schema.Job
	problems schema.Problems
}

func (e *Engine) parse(files []ManifestFile) []parsedJob {
	out := make([]parsedJob, 0, len(files))
	var valid []*schema.Job
	for _, f := range files {
		pj := parsedJob{path: f.Path, data: f.Data, name: defaultJobName(f.Path)}
		switch {
		case f.Err != nil:
			pj.problems = schema.Problems{{File: f.Path, Message: f.Err.Error()}}
		default:
			job, err := schema.LoadWithConfig(f.Path, f.Data, e.vcfg)
			var ps schema.Problems
			switch {
			case errors.As(err, &ps):
				pj.problems = ps
			case err != nil:
				pj.problems = schema.Problems{{File: f.Path, Message: err.Error()}}
			default:
				pj.job, pj.name = job, job.Name
				valid = append(valid, job)
			}
		}
		out = append(out, pj)
	}
	// Names identify jobs in statuses and commands: a duplicate makes the
	// later manifest invalid, not both.
	for _, p := range schema.CheckUnique(valid) {
		for i := range out {
			if out[i].path == p.File && out[i].job != nil {
				out[i].job = nil
				out[i].problems = append(out[i].problems, p)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

func defaultJobName(manifestPath string) string {
	dir := path.Dir(manifestPath)
	if dir == "." {
		return "job"
	}
	return path.Base(dir)
}

func (e *Engine) only() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.onlyJobs
}

func (e *Engine) defaultBranch(r *Repo) string {
	if r.DefaultBranch != "" {
		return r.DefaultBranch
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if rs := e.repos[r.Name]; rs != nil && rs.head != "" {
		return rs.head
	}
	return "main"
}

func (e *Engine) planJob(ctx context.Context, repo *Repo, ev Event, head string, pj parsedJob, changed []string) (*Run, error) {
	now := e.clock.Now()
	r := &Run{
		Repo: repo.Name, RepoURL: repo.URL, JobPath: pj.path, JobName: pj.name,
		SHA: ev.After, Ref: ev.Ref, Branch: ev.Branch, Base: ev.Base, PR: ev.PR,
		Trigger: ev.Trigger, TriggerKey: ev.Key, Untrusted: ev.Untrusted,
		Manifest: string(pj.data), CreatedAt: now, UpdatedAt: now,
	}
	r.ID = RunID(r.Repo, r.JobPath, r.SHA, r.Trigger, r.TriggerKey)
	if pj.job == nil {
		// An invalid manifest is reported where its author looks, once per
		// change of it, and nothing is launched.
		if !ev.Force && changed != nil && !slices.Contains(changed, pj.path) {
			return nil, nil
		}
		if !ev.Force && ev.Trigger != TriggerPush && ev.Trigger != TriggerPullRequest {
			return nil, nil
		}
		r.State = StateInvalid
		r.Problems = pj.problems
		r.Reason = fmt.Sprintf("%s has %d problem(s)", pj.path, len(pj.problems))
		r.FinishedAt = now
		return e.create(ctx, r)
	}
	if !ev.Force && !Matches(pj.job, ev, head, changed) {
		return nil, nil
	}
	r.GPU, r.GPUModel = pj.job.Resources.GPU, pj.job.Resources.GPUModel
	r.State = StateQueued
	r.Reason = "waiting for a free slot"
	if r.Untrusted && ev.Trigger == TriggerPullRequest {
		r.State = StateWaiting
		r.Reason = "waiting for a collaborator to comment /gitlaunch ok-to-test"
	}
	created, err := e.create(ctx, r)
	if err != nil || created == nil {
		return created, err
	}
	if pj.job.Concurrency.CancelSuperseded {
		if err := e.cancelSuperseded(ctx, created); err != nil {
			return created, err
		}
	}
	return created, nil
}

// create stores r unless its identity is known; either way it returns the
// stored run.
func (e *Engine) create(ctx context.Context, r *Run) (*Run, error) {
	created, err := e.runs.CreateRun(ctx, r, e.names)
	if err != nil {
		return nil, fmt.Errorf("store run %s: %w", r.ID, err)
	}
	if !created {
		return e.runs.GetRun(ctx, r.ID)
	}
	e.log.Info("run planned", "run", r.ID, "repo", r.Repo, "job", r.JobName, "sha", ShortSHA(r.SHA), "trigger", r.Trigger, "state", r.State)
	return r, nil
}

// Matches reports whether ev triggers job under its `on:` section. changed
// nil means "everything changed".
func Matches(job *schema.Job, ev Event, defaultBranch string, changed []string) bool {
	var filter *schema.BranchFilter
	var branch string
	switch ev.Trigger {
	case TriggerPush:
		branch = ev.Branch
		filter = &schema.BranchFilter{}
		if job.On != nil {
			filter = job.On.Push
		}
	case TriggerPullRequest:
		branch = ev.Base
		filter = &schema.BranchFilter{}
		if job.On != nil {
			filter = job.On.PullRequest
		}
	default:
		return true
	}
	if filter == nil || !branchMatches(filter.Branches, branch, defaultBranch) {
		return false
	}
	if changed == nil {
		return true
	}
	for _, p := range changed {
		for _, g := range job.Paths() {
			if schema.MatchGlob(g, p) {
				return true
			}
		}
	}
	return false
}

func branchMatches(globs []string, branch, defaultBranch string) bool {
	if len(globs) == 0 {
		return branch == defaultBranch
	}
	for _, g := range globs {
		if schema.MatchGlob(g, branch) {
			return true
		}
	}
	return false
}

// cancelSuperseded cancels older runs of the same job on the same branch or
// pull request.
func (e *Engine) cancelSuperseded(ctx context.Context, r *Run) error {
	if r.Trigger != TriggerPush && r.Trigger != TriggerPullRequest {
		return nil
	}
	olds, err := e.runs.ListRuns(ctx, RunFilter{Repo: r.Repo, JobPath: r.JobPath, Ref: r.Ref, States: nonTerminal})
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range olds {
		if o.ID == r.ID || o.SHA == r.SHA || o.CreatedAt.After(r.CreatedAt) {
			continue
		}
		errs = append(errs, e.Cancel(ctx, o.ID, "superseded by "+ShortSHA(r.SHA)))
	}
	return errors.Join(errs...)
}

var nonTerminal = []State{StateQueued, StateWaiting, StatePending, StateRunning}

func (e *Engine) cancelRef(ctx context.Context, repo, ref, reason string) error {
	runs, err := e.runs.ListRuns(ctx, RunFilter{Repo: repo, Ref: ref, States: nonTerminal})
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range runs {
		errs = append(errs, e.Cancel(ctx, r.ID, reason))
	}
	return errors.Join(errs...)
}
