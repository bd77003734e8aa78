package engine

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"

	"github.com/gitlaunch/gitlaunch/schema"
)

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
	e.keepJob(created, pj.job)
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
