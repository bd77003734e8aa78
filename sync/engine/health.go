package engine

import (
	"context"
	"errors"
	"strings"
)

// storeUsable runs Options.StoreCheck. A store that is not the file on
// disk any more (deleted, replaced) would take runs that nobody else ever
// sees: the engine then plans and launches nothing, and says so once.
func (e *Engine) storeUsable(ctx context.Context) bool {
	if e.storeCheck == nil {
		return true
	}
	err := e.storeCheck(ctx)
	if ctx.Err() != nil {
		return false
	}
	e.mu.Lock()
	was := e.storeBad
	e.storeBad = err != nil
	e.mu.Unlock()
	switch {
	case err != nil && !was:
		e.log.Error("the run store is not the file on disk: no runs are planned or launched until gitlaunch restarts", "err", err)
	case err == nil && was:
		e.log.Info("the run store is the file on disk again: planning and launching resume")
	}
	return err == nil
}

// fullReason is the reason of a run stopped because the data directory is
// full.
const fullReason = "data directory full: the run's output could not be stored, so the run was stopped; free space in the syncer's data directory"

// endForDiskFull stops a run whose output the store had no room for: its
// output would be lost from here on. The executor's terminal update then
// ends it in StateError with fullReason (see diskFullEnd). Called again
// for the same run (every failed append), it does nothing more.
func (e *Engine) endForDiskFull(ctx context.Context, runID string, cause error) {
	e.mu.Lock()
	if _, ok := e.fullReasons[runID]; ok {
		e.mu.Unlock()
		return
	}
	e.fullReasons[runID] = fullReason
	e.mu.Unlock()
	e.log.Error("data directory full: stopping the run", "run", runID, "err", cause)
	err := e.exec.Cancel(ctx, runID)
	if err == nil {
		return
	}
	if !errors.Is(err, ErrNotFound) {
		e.log.Error("stop a run on a full data directory", "run", runID, "err", err)
		return
	}
	// Nothing left to stop: record its end here.
	r, gerr := e.runs.GetRun(ctx, runID)
	if gerr != nil || r.State.Terminal() {
		return
	}
	if err := e.finish(ctx, r, Update{State: StateError, Reason: fullReason}); err != nil {
		e.log.Error("end a run on a full data directory", "run", runID, "err", err)
	}
}

// diskFullEnd turns the terminal update of a run stopped by endForDiskFull
// into StateError with its reason, never retried (it would fill the disk
// again).
func (e *Engine) diskFullEnd(runID string, u Update) Update {
	e.mu.Lock()
	defer e.mu.Unlock()
	why, ok := e.fullReasons[runID]
	if !ok || !u.State.Terminal() {
		return u
	}
	delete(e.fullReasons, runID)
	if !strings.HasPrefix(u.Reason, "data directory full") {
		u.Reason = why // else the executor's own words: they say more
	}
	u.State, u.Retryable = StateError, false
	return u
}
