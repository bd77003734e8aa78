package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gitlaunch/gitlaunch/schema"
)

// Dispatch launches queued runs, oldest first, while the global and
// per-repository limits allow, and tells the others their queue position.
func (e *Engine) Dispatch(ctx context.Context) error {
	active, err := e.runs.ListRuns(ctx, RunFilter{States: []State{StatePending, StateRunning}})
	if err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	queued, err := e.runs.ListRuns(ctx, RunFilter{States: []State{StateQueued}})
	if err != nil {
		return fmt.Errorf("dispatch: %w", err)
	}
	slices.Reverse(queued) // oldest first
	total := len(active)
	perRepo := map[string]int{}
	for _, r := range active {
		perRepo[r.Repo]++
	}
	var errs []error
	pos := 0
	for _, r := range queued {
		if total >= e.maxRuns || perRepo[r.Repo] >= e.maxPerRepo {
			pos++
			limit := fmt.Sprintf("%d runs at once", e.maxRuns)
			if perRepo[r.Repo] >= e.maxPerRepo && total < e.maxRuns {
				limit = fmt.Sprintf("%d runs at once for %s", e.maxPerRepo, r.Repo)
			}
			reason := fmt.Sprintf("queued: position %d of %d (limit %s)", pos, len(queued), limit)
			if r.QueuePos != pos || r.Reason != reason {
				r.QueuePos, r.Reason = pos, reason
				r.UpdatedAt = e.clock.Now()
				errs = append(errs, e.runs.UpdateRun(ctx, r, e.names))
			}
			continue
		}
		total++
		perRepo[r.Repo]++
		if err := e.launch(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// jobOf is the job run r was planned from, parsed once: kept from planning,
// or parsed from the stored manifest the first time this process needs it
// (a run planned before a restart, or by another process).
func (e *Engine) jobOf(r *Run) (*schema.Job, error) {
	e.mu.Lock()
	job, ok := e.jobs[r.ID]
	e.mu.Unlock()
	if ok {
		return job, nil
	}
	if r.Manifest == "" {
		return nil, fmt.Errorf("run %s keeps no manifest", r.ID)
	}
	job, err := schema.LoadWithConfig(r.JobPath, []byte(r.Manifest), e.vcfg)
	if err != nil {
		return nil, fmt.Errorf("manifest of run %s: %w", r.ID, err)
	}
	e.keepJob(r, job)
	return job, nil
}

// keepJob keeps the parsed job of an unfinished run until it finishes.
func (e *Engine) keepJob(r *Run, job *schema.Job) {
	if job == nil || r.State.Terminal() {
		return
	}
	e.mu.Lock()
	e.jobs[r.ID] = job
	e.mu.Unlock()
}

func (e *Engine) launchFor(r *Run) (Launch, error) {
	job, err := e.jobOf(r)
	if err != nil {
		return Launch{}, err
	}
	pod, err := e.render(job, r)
	if err != nil {
		return Launch{}, fmt.Errorf("render pod: %w", err)
	}
	l := Launch{Run: r, Job: job, Pod: pod}
	if !r.Untrusted && len(job.Secrets) > 0 {
		repo, _ := e.Repo(r.Repo)
		l.Secrets = map[string]string{}
		for _, k := range job.Secrets {
			v, ok := "", false
			if repo != nil {
				v, ok = repo.Secrets[k]
			}
			if !ok && e.cfg.Executor != "kube" {
				return Launch{}, fmt.Errorf("secret %s is not configured for repository %s", k, r.Repo)
			}
			l.Secrets[k] = v
		}
	}
	return l, nil
}

// launch stores the run as pending first, then starts it: a crash between
// the two leaves a pending run that Recover re-adopts or marks lost, never
// one that is launched twice.
func (e *Engine) launch(ctx context.Context, r *Run) error {
	// The attempt is part of what is rendered (a retry's Pod has a name of
	// its own), so count it first.
	r.Attempt++
	l, err := e.launchFor(r)
	if err != nil {
		return e.finish(ctx, r, Update{State: StateError, Reason: err.Error(), At: e.clock.Now()})
	}
	r.State, r.Reason, r.QueuePos = StatePending, "starting", 0
	r.UpdatedAt = e.clock.Now()
	if err := e.runs.UpdateRun(ctx, r, e.names); err != nil {
		return fmt.Errorf("launch %s: %w", r.ID, err)
	}
	e.mu.Lock()
	e.running[r.ID] = r
	e.mu.Unlock()
	if err := e.exec.Start(ctx, l, sink{e}); err != nil {
		return e.finish(ctx, r, Update{State: StateError, Reason: "start failed: " + err.Error(), At: e.clock.Now()})
	}
	e.log.Info("run launched", "run", r.ID, "job", r.JobName, "attempt", r.Attempt)
	return nil
}

// Approve lets waiting runs of an untrusted pull request at sha run, still
// without secrets.
func (e *Engine) Approve(ctx context.Context, repo string, pr int, sha string) ([]*Run, error) {
	runs, err := e.runs.ListRuns(ctx, RunFilter{Repo: repo, PR: pr, SHA: sha, States: []State{StateWaiting}})
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		r.State, r.Reason, r.UpdatedAt = StateQueued, "approved", e.clock.Now()
		if err := e.runs.UpdateRun(ctx, r, e.names); err != nil {
			return nil, err
		}
	}
	e.nudge()
	return runs, nil
}

// Recover follows runs that an earlier process launched: the executor
// adopts them, or they are marked lost. They are never launched again.
func (e *Engine) Recover(ctx context.Context) error {
	runs, err := e.runs.ListRuns(ctx, RunFilter{States: []State{StatePending, StateRunning}})
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	for _, r := range runs {
		e.mu.Lock()
		_, mine := e.running[r.ID]
		e.mu.Unlock()
		if mine {
			continue
		}
		l, err := e.launchFor(r)
		if err == nil {
			e.mu.Lock()
			e.running[r.ID] = r
			e.mu.Unlock()
			err = e.exec.Adopt(ctx, l, sink{e})
			if err == nil {
				e.log.Info("run re-adopted", "run", r.ID, "job", r.JobName)
				continue
			}
		}
		reason := "lost: the syncer restarted and could not re-attach to the run"
		if !errors.Is(err, ErrNotFound) {
			reason += ": " + err.Error()
		}
		if err := e.finish(ctx, r, Update{State: StateError, Reason: reason, At: e.clock.Now()}); err != nil {
			return err
		}
	}
	return nil
}

// reportDrain bounds how long WaitIdle waits for reports after the runs
// ended.
const reportDrain = 30 * time.Second

// WaitIdle steps the engine (dispatch and reports, no polling) until every
// run in ids is terminal and its reports are delivered, or ctx ends.
func (e *Engine) WaitIdle(ctx context.Context, ids []string) ([]*Run, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var doneAt time.Time
	for {
		if err := e.Dispatch(ctx); err != nil {
			e.log.Error("dispatch", "err", err)
		}
		runs, done, err := e.allTerminal(ctx, ids)
		if err != nil {
			return nil, err
		}
		if err := e.DeliverReports(ctx); err != nil {
			e.log.Warn("deliver reports", "err", err)
		}
		if done {
			pending, err := e.outbox.DueReports(ctx, e.clock.Now().Add(time.Hour), 1)
			if err != nil {
				return nil, err
			}
			if doneAt.IsZero() {
				doneAt = time.Now()
			}
			// Reports stay in the outbox and are delivered by the next
			// process; a reporter that is down must not hold the runs.
			if len(pending) == 0 || time.Since(doneAt) > reportDrain {
				if len(pending) > 0 {
					e.log.Warn("some reports are still undelivered; they stay in the outbox", "reporter", pending[0].Reporter, "err", pending[0].LastErr)
				}
				return runs, nil
			}
		}
		select {
		case <-ctx.Done():
			return runs, ctx.Err()
		case <-tick.C:
		case <-e.wake:
		}
	}
}

func (e *Engine) allTerminal(ctx context.Context, ids []string) ([]*Run, bool, error) {
	runs := make([]*Run, 0, len(ids))
	done := true
	for _, id := range ids {
		r, err := e.runs.GetRun(ctx, id)
		if err != nil {
			return nil, false, err
		}
		runs = append(runs, r)
		if !r.State.Terminal() {
			done = false
		}
	}
	return runs, done, nil
}
