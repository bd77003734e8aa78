package local

import (
	"context"
	"errors"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"os"
)

// Adopt follows a run launched by an earlier executor (before a syncer
// restart). A local process cannot be re-attached, so the run folder is
// what connects them: the pid file names the process (PID and start time,
// so a reused PID is not mistaken for it), the job writes its output to
// output.log rather than to a pipe, and its wrapper writes the exit status
// to the exit file. A live process is followed to its end; a finished one
// is reported from its exit (or stop) file. Anything else wraps
// engine.ErrNotFound: the run is lost.
func (e *Executor) Adopt(ctx context.Context, l engine.Launch, sink engine.Sink) error {
	if l.Run == nil || !runIDPattern.MatchString(l.Run.ID) {
		return fmt.Errorf("local adopt: launch without a valid run id: %w", engine.ErrNotFound)
	}
	id := l.Run.ID
	d := e.dir(id)

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("local adopt %s: executor closed", id)
	}
	if e.following[id] != nil || e.starting[id] != nil {
		return nil
	}
	info, err := d.readProcessInfo()
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("local adopt %s: no process was recorded: %w", id, engine.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("local adopt %s: %w: %w", id, err, engine.ErrNotFound)
	}
	if !alive(info.PID, info.ProcStart) && !exists(d.Exit()) && d.readStop() == stopNone {
		return fmt.Errorf("local adopt %s: process %d ended without recording how: %w", id, info.PID, engine.ErrNotFound)
	}
	e.log.Info("local run adopted", "run", id, "pid", info.PID, "isolation", info.Isolation)
	f := e.newFollower(l, sink, d, info)
	f.announce = true
	e.follow(f)
	return nil
}
