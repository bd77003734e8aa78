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

// Cancel stops a run. Queued and waiting runs end at once; launched runs
// end when their executor confirms.
func (e *Engine) Cancel(ctx context.Context, id, reason string) error {
	r, err := e.runs.GetRun(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case r.State.Terminal():
		return nil
	case r.State.Active():
		e.mu.Lock()
		e.cancelReasons[id] = reason
		e.mu.Unlock()
		if err := e.exec.Cancel(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("cancel %s: %w", id, err)
		} else if errors.Is(err, ErrNotFound) {
			// Nothing left to stop (another process launched it, or it is
			// gone): record the cancellation ourselves.
			return e.finish(ctx, r, Update{State: StateCancelled, Reason: reason, At: e.clock.Now()})
		}
		return nil
	default:
		return e.finish(ctx, r, Update{State: StateCancelled, Reason: reason, At: e.clock.Now()})
	}
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

// sink receives executor progress for the engine.
type sink struct{ e *Engine }

func (s sink) Log(ctx context.Context, runID string, p []byte) error {
	return s.e.logs.AppendLog(ctx, runID, p)
}

func (s sink) Update(ctx context.Context, runID string, u Update) error {
	r, err := s.e.runs.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	if r.State.Terminal() {
		return nil // late news of a finished run
	}
	if u.At.IsZero() {
		u.At = s.e.clock.Now()
	}
	if u.State.Terminal() {
		return s.e.finish(ctx, r, u)
	}
	if u.State == StateRunning && r.StartedAt.IsZero() {
		r.StartedAt = u.At
	}
	// UpdatedAt is the engine's time: the outbox schedules by it.
	r.State, r.Reason, r.UpdatedAt = u.State, u.Reason, s.e.clock.Now()
	return s.e.runs.UpdateRun(ctx, r, s.e.names)
}

// finish records a terminal update, or re-queues the run when an
// infrastructure failure may be retried.
func (e *Engine) finish(ctx context.Context, r *Run, u Update) error {
	if u.At.IsZero() {
		u.At = e.clock.Now()
	}
	if u.State == StateError && u.Retryable {
		if job, err := e.jobOf(r); err == nil && r.Attempt <= job.Retries {
			r.State = StateQueued
			r.Reason = fmt.Sprintf("retrying after infrastructure failure (attempt %d of %d): %s", r.Attempt+1, job.Retries+1, u.Reason)
			r.UpdatedAt = e.clock.Now()
			e.forget(r.ID)
			e.nudge()
			return e.runs.UpdateRun(ctx, r, e.names)
		}
	}
	e.mu.Lock()
	if why, ok := e.cancelReasons[r.ID]; ok && u.State == StateCancelled {
		u.Reason = why
	}
	delete(e.cancelReasons, r.ID)
	delete(e.jobs, r.ID)
	e.mu.Unlock()
	r.State, r.Reason, r.ExitCode = u.State, u.Reason, u.ExitCode
	if u.Artifacts != nil {
		r.Artifacts = u.Artifacts
	}
	if u.Metrics != nil {
		r.Metrics = u.Metrics
	}
	r.FinishedAt, r.UpdatedAt, r.QueuePos = u.At, e.clock.Now(), 0
	e.forget(r.ID)
	if err := e.runs.UpdateRun(ctx, r, e.names); err != nil {
		return fmt.Errorf("finish %s: %w", r.ID, err)
	}
	e.log.Info("run finished", "run", r.ID, "job", r.JobName, "state", r.State, "reason", r.Reason)
	e.nudge()
	return nil
}

func (e *Engine) forget(id string) {
	e.mu.Lock()
	delete(e.running, id)
	e.mu.Unlock()
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

// CancelRequested takes the cancel requests other processes filed in the
// store (Store.TakeCancelRequests) and cancels their runs. It runs every
// step, so it asks the store once for all open requests. A request is
// settled when taken: a run that ended meanwhile, or one whose cancel
// fails, is not asked again every second.
func (e *Engine) CancelRequested(ctx context.Context) error {
	reqs, err := e.cancels.TakeCancelRequests(ctx)
	if err != nil {
		return err
	}
	// The latest request for a run gives the reason.
	reason := map[string]string{}
	var order []string
	for _, r := range reqs {
		if _, ok := reason[r.RunID]; !ok {
			order = append(order, r.RunID)
		}
		reason[r.RunID] = r.Reason
	}
	var errs []error
	for _, id := range order {
		if err := e.Cancel(ctx, id, reason[id]); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CancelPR cancels the unfinished runs of a pull request (all jobs, or
// those named), e.g. when it is closed.
func (e *Engine) CancelPR(ctx context.Context, repo string, pr int, jobs []string, reason string) ([]*Run, error) {
	runs, err := e.runs.ListRuns(ctx, RunFilter{Repo: repo, PR: pr, States: nonTerminal})
	if err != nil {
		return nil, err
	}
	var out []*Run
	var errs []error
	for _, r := range runs {
		if len(jobs) > 0 && !slices.Contains(jobs, r.JobName) {
			continue
		}
		errs = append(errs, e.Cancel(ctx, r.ID, reason))
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}
