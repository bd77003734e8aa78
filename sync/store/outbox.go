package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"time"
)

// enqueue adds one undelivered report of (runID, state) per reporter,
// due now. The unique key (reporter, run_id, state) makes a state that a
// reporter already has queued or delivered a no-op, so a run re-entering a
// state, or saved twice with it, is reported once.
//
// The item is due at the transition's time, on the caller's clock: the
// engine asks for due reports with the same clock.
func (s *Store) enqueue(ctx context.Context, tx *sql.Tx, runID string, state engine.State, reporters []string, at time.Time) error {
	now := at.UnixNano()
	for _, name := range reporters {
		if name == "" {
			return fmt.Errorf("enqueue report of %s: empty reporter name", runID)
		}
		if _, err := tx.ExecContext(ctx, `
INSERT INTO outbox (reporter, run_id, state, next_at) VALUES (?, ?, ?, ?)
ON CONFLICT (reporter, run_id, state) DO NOTHING`,
			name, runID, string(state), now); err != nil {
			return fmt.Errorf("enqueue report of %s to %s: %w", runID, name, err)
		}
	}
	return nil
}

// DueReports returns up to limit undelivered reports whose NextAt is not
// after now, earliest first (0 = no limit).
func (s *Store) DueReports(ctx context.Context, now time.Time, limit int) ([]engine.OutboxItem, error) {
	if limit < 0 {
		return nil, fmt.Errorf("due reports: negative limit %d", limit)
	}
	q := `
SELECT id, reporter, run_id, state, attempts, next_at, last_err FROM outbox
WHERE delivered_at IS NULL AND next_at <= ?
ORDER BY next_at, id`
	args := []any{now.UnixNano()}
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("due reports: %w", err)
	}
	defer rows.Close()
	var items []engine.OutboxItem
	for rows.Next() {
		var it engine.OutboxItem
		var next int64
		if err := rows.Scan(&it.ID, &it.Reporter, &it.RunID, &it.State, &it.Attempts, &next, &it.LastErr); err != nil {
			return nil, fmt.Errorf("due reports: %w", err)
		}
		it.NextAt = time.Unix(0, next).UTC()
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("due reports: %w", err)
	}
	return items, nil
}

// MarkDelivered records that report id was delivered; it is never due
// again. Marking it twice keeps the first delivery time.
func (s *Store) MarkDelivered(ctx context.Context, id int64) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
UPDATE outbox SET delivered_at = coalesce(delivered_at, ?) WHERE id = ?`, s.now().UnixNano(), id)
		if err != nil {
			return err
		}
		return mustAffect(res, "report", id)
	})
	if err != nil {
		return fmt.Errorf("mark report %d delivered: %w", id, err)
	}
	return nil
}

// MarkFailed records a failed delivery of report id: one more attempt,
// the error, and when to try again (the caller's backoff). A report that
// was delivered meanwhile stays delivered.
func (s *Store) MarkFailed(ctx context.Context, id int64, failure error, next time.Time) error {
	msg := ""
	if failure != nil {
		msg = failure.Error()
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
UPDATE outbox SET attempts = attempts + 1, last_err = ?, next_at = ?
WHERE id = ? AND delivered_at IS NULL`, msg, next.UnixNano(), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM outbox WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("report %d: %w", id, engine.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("mark report %d failed: %w", id, err)
	}
	return nil
}

func mustAffect(res sql.Result, what string, id any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s %v: %w", what, id, engine.ErrNotFound)
	}
	return nil
}
