package store

import (
	"context"
	"fmt"
	"io"
	"time"
)

// DefaultPoll is FollowLog's polling interval when none is given.
const DefaultPoll = 500 * time.Millisecond

// FollowLog writes the run's log from offset off to w as it grows, until
// the run is in a terminal state and its log is drained (nil), ctx ends, or
// a read or write fails. It returns the offset it reached, from which a
// later call can resume.
//
// It polls rather than waits for a signal because the writer is usually
// another process (the syncer daemon, while `gitlaunch logs -f` runs in a
// terminal) and SQLite offers no cross-process notification. A poll is two
// indexed point queries on a read connection that holds no lock in WAL
// mode, so a follower every half second costs the writer nothing, and the
// latency is fine for a person watching.
//
// Executors append a run's last output before they report its terminal
// state; output appended after that may not be written.
func (s *Store) FollowLog(ctx context.Context, runID string, off int64, w io.Writer, poll time.Duration) (int64, error) {
	if poll <= 0 {
		poll = DefaultPoll
	}
	rc, err := s.OpenLog(ctx, runID, off)
	if err != nil {
		return off, fmt.Errorf("follow log: %w", err)
	}
	defer rc.Close()
	t := time.NewTimer(poll)
	defer t.Stop()
	for {
		// Read the state before draining: if the run was already terminal,
		// everything its executor wrote is in the log we are about to read.
		r, err := s.GetRun(ctx, runID)
		if err != nil {
			return off, fmt.Errorf("follow log: %w", err)
		}
		_, err = io.Copy(w, rc)
		off = rc.(*logReader).offset()
		if err != nil {
			return off, fmt.Errorf("follow log of %s: %w", runID, err)
		}
		if r.State.Terminal() {
			return off, nil
		}
		t.Reset(poll)
		select {
		case <-ctx.Done():
			return off, ctx.Err()
		case <-t.C:
		}
	}
}
