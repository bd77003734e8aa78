package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DeliverReports hands due outbox items to their reporters. A failed
// delivery is retried with backoff; an item whose state the run has
// already left is settled without a call, so people never see an old state
// after a newer one, and no state is reported twice.
func (e *Engine) DeliverReports(ctx context.Context) error {
	now := e.clock.Now()
	items, err := e.outbox.DueReports(ctx, now, 100)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	var errs []error
	for _, it := range items {
		rep := e.reporter(it.Reporter)
		r, err := e.runs.GetRun(ctx, it.RunID)
		if rep == nil || errors.Is(err, ErrNotFound) {
			// A reporter removed from the config, or a run deleted: nothing
			// will ever deliver it.
			errs = append(errs, e.outbox.MarkDelivered(ctx, it.ID))
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if r.State != it.State {
			every, ok := rep.(EveryStateReporter)
			if !ok || !every.EveryState() {
				errs = append(errs, e.outbox.MarkDelivered(ctx, it.ID))
				continue
			}
			r = e.asOf(ctx, r, it.State)
		}
		if err := rep.Report(ctx, r); err != nil {
			next := now.Add(backoff(it.Attempts+1, 2*time.Second, 5*time.Minute))
			// A reporter that knows when to come back is believed.
			var ra RetryAfterError
			if errors.As(err, &ra) && ra.RetryAfter().After(next) {
				next = ra.RetryAfter()
			}
			e.log.Warn("report failed; will retry", "reporter", it.Reporter, "run", it.RunID, "attempt", it.Attempts+1, "next", next, "err", err)
			errs = append(errs, e.outbox.MarkFailed(ctx, it.ID, err, next))
			continue
		}
		errs = append(errs, e.outbox.MarkDelivered(ctx, it.ID))
	}
	return errors.Join(errs...)
}

func (e *Engine) reporter(name string) Reporter {
	for _, r := range e.reporters {
		if r.Name() == name {
			return r
		}
	}
	return nil
}

// asOf is the run as it was when it entered state, for reporters that show
// every state change (a console log) rather than only the current state.
func (e *Engine) asOf(ctx context.Context, r *Run, state State) *Run {
	old := *r
	old.State, old.ExitCode, old.Metrics, old.Artifacts = state, nil, nil, nil
	old.FinishedAt = time.Time{}
	if tr, err := e.outbox.Transitions(ctx, r.ID); err == nil {
		for _, t := range tr {
			if t.To == state {
				old.Reason = t.Reason
				if state == StateRunning {
					old.StartedAt = t.At
				}
			}
		}
	}
	if !state.Active() && state != StateRunning {
		old.StartedAt = time.Time{}
	}
	return &old
}
