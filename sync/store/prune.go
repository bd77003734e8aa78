package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// PruneCandidates lists the finished runs a retention policy removes the
// log and workspace of, oldest first and at most limit (0: no limit):
// those created before before (zero: no age limit), and those whose job
// has keepPerJob newer runs (0: no count limit). It never lists a run
// already pruned, a run in progress, a run with a report still to
// deliver, or a run of the latest commit planned for a pull request ref
// (an open pull request's comment compares against it and links its log).
func (s *Store) PruneCandidates(ctx context.Context, before time.Time, keepPerJob, limit int) ([]string, error) {
	if before.IsZero() && keepPerJob <= 0 {
		return nil, nil
	}
	age := int64(math.MinInt64)
	if !before.IsZero() {
		age = before.UnixNano()
	}
	if keepPerJob <= 0 {
		keepPerJob = math.MaxInt32
	}
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.r.QueryContext(ctx, `
SELECT r.id FROM (
	SELECT id, repo, ref, sha, terminal, created_at,
		row_number() OVER (PARTITION BY repo, job_path ORDER BY created_at DESC, id DESC) AS newer
	FROM runs
) AS r
WHERE r.terminal = 1
	AND (r.created_at < ? OR r.newer > ?)
	AND NOT EXISTS (SELECT 1 FROM pruned_runs p WHERE p.run_id = r.id)
	AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.run_id = r.id AND o.delivered_at IS NULL)
	AND NOT EXISTS (SELECT 1 FROM planned_refs pr
		WHERE pr.repo = r.repo AND pr.ref = r.ref AND pr.sha = r.sha AND pr.ref LIKE 'refs/pull/%')
ORDER BY r.created_at, r.id
LIMIT ?`, age, keepPerJob, limit)
	if err != nil {
		return nil, fmt.Errorf("prune candidates: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("prune candidates: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("prune candidates: %w", err)
	}
	return ids, nil
}

// PruneLog replaces the run's log with one line saying that the retention
// policy removed it at at, and records the run as pruned; the run's row
// (state, metrics, timings) and transitions stay. A run in progress is
// refused.
func (s *Store) PruneLog(ctx context.Context, runID string, at time.Time) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var terminal bool
		if err := tx.QueryRowContext(ctx, `SELECT terminal FROM runs WHERE id = ?`, runID).Scan(&terminal); err != nil {
			return err
		}
		if !terminal {
			return fmt.Errorf("run %s is in progress", runID)
		}
		_, size, err := logEnd(ctx, tx.StmtContext(ctx, s.logs.end), tx, runID)
		if err != nil {
			return err
		}
		note := []byte("gitlaunch: " + prunedNote(size, at) + "\n")
		for _, q := range []string{`DELETE FROM log_chunks WHERE run_id = ?`, `DELETE FROM log_cuts WHERE run_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, runID); err != nil {
				return err
			}
		}
		if _, err := tx.StmtContext(ctx, s.logs.insert).ExecContext(ctx, runID, 0, 0, note); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO pruned_runs (run_id, pruned_at, log_bytes) VALUES (?, ?, ?)`,
			runID, at.UnixNano(), size)
		return err
	})
	if err != nil {
		return fmt.Errorf("prune log of %s: %w", runID, err)
	}
	return nil
}

// prunedNote says, in one line, that retention removed a run's log.
func prunedNote(size int64, at time.Time) string {
	return fmt.Sprintf("this run's log (%d bytes) and workspace were removed on %s by the retention policy (sync.retention); its state, metrics and timings are kept",
		size, at.UTC().Format("2006-01-02 15:04 UTC"))
}

// LogNote says in one line what of the run's log is not kept, for its
// page: that retention removed it, or what the log limit cut; "" when the
// log is whole.
func (s *Store) LogNote(ctx context.Context, runID string) (string, error) {
	var at, size int64
	err := s.r.QueryRowContext(ctx, `SELECT pruned_at, log_bytes FROM pruned_runs WHERE run_id = ?`, runID).Scan(&at, &size)
	if err == nil {
		return prunedNote(size, time.Unix(0, at)), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("log note of %s: %w", runID, err)
	}
	if err := s.logs.cutStmts(); err != nil {
		return "", err
	}
	c, ok, err := getCut(ctx, s.logs.cutRead, runID)
	if err != nil {
		return "", fmt.Errorf("log note of %s: %w", runID, err)
	}
	if !ok || !c.gap() {
		return "", nil
	}
	return c.note(), nil
}
