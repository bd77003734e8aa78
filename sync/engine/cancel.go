package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

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
