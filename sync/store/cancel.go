package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// RequestCancel files a request to cancel run req.RunID, for the process
// that dispatches runs to take (engine.Engine.CancelRequested). A zero
// req.At is now. The run must exist: an error wrapping engine.ErrNotFound
// otherwise.
func (s *Store) RequestCancel(ctx context.Context, req engine.CancelRequest) error {
	if req.At.IsZero() {
		req.At = s.now()
	}
	res, err := s.w.ExecContext(ctx, `
INSERT INTO cancel_requests (run_id, reason, requested_by, requested_at)
SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?)`,
		req.RunID, req.Reason, req.By, req.At.UnixNano(), req.RunID)
	if err != nil {
		return fmt.Errorf("request cancel of %s: %w", req.RunID, err)
	}
	if err := mustAffect(res, "run", req.RunID); err != nil {
		return fmt.Errorf("request cancel: %w", err)
	}
	return nil
}

// TakeCancelRequests returns the open cancel requests, oldest first, and
// marks them taken in the same transaction, so each is handed out once even
// when two processes ask. Taken requests stay as a record of who asked.
func (s *Store) TakeCancelRequests(ctx context.Context) ([]engine.CancelRequest, error) {
	type taken struct {
		id  int64
		req engine.CancelRequest
	}
	var all []taken
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
UPDATE cancel_requests SET taken_at = ? WHERE taken_at IS NULL
RETURNING id, run_id, reason, requested_by, requested_at`, s.now().UnixNano())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t taken
			var at int64
			if err := rows.Scan(&t.id, &t.req.RunID, &t.req.Reason, &t.req.By, &at); err != nil {
				return err
			}
			t.req.At = time.Unix(0, at).UTC()
			all = append(all, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("take cancel requests: %w", err)
	}
	// RETURNING gives rows in no promised order.
	slices.SortFunc(all, func(a, b taken) int { return cmp.Compare(a.id, b.id) })
	out := make([]engine.CancelRequest, len(all))
	for i, t := range all {
		out[i] = t.req
	}
	return out, nil
}
