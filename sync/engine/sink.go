package engine

import (
	"context"
	"errors"
	"fmt"
)

// sink receives executor progress for the engine.
type sink struct{ e *Engine }

// Log stores the run's output redacted (see appendLog).
func (s sink) Log(ctx context.Context, runID string, p []byte) error {
	err := s.e.appendLog(ctx, runID, p)
	if errors.Is(err, ErrDiskFull) {
		s.e.endForDiskFull(ctx, runID, err)
	}
	return err
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
	// The executor sent all of this attempt's output: what the redactor
	// held back goes in before the run's end is reported.
	e.flushLog(ctx, r.ID)
	u = e.diskFullEnd(r.ID, u)
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
