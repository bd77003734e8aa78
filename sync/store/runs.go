package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"strings"
	"time"
)

// CreateRun inserts r unless a run with r.ID exists (then nothing changes
// and created is false). A new run records the transition "" → r.State and
// enqueues one report per reporter. A zero r.CreatedAt is set to now.
func (s *Store) CreateRun(ctx context.Context, r *engine.Run, reporters []string) (created bool, err error) {
	if err := checkRun(r); err != nil {
		return false, fmt.Errorf("create run: %w", err)
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
	}
	data, err := json.Marshal(r)
	if err != nil {
		return false, fmt.Errorf("create run %s: %w", r.ID, err)
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
INSERT INTO runs (id, repo, job_path, ref, pr, sha, state, terminal, created_at, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING`,
			r.ID, r.Repo, r.JobPath, r.Ref, r.PR, r.SHA, string(r.State), r.State.Terminal(), r.CreatedAt.UnixNano(), string(data))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		created = true
		return s.recordTransition(ctx, tx, r, "", reporters)
	})
	if err != nil {
		return false, fmt.Errorf("create run %s: %w", r.ID, err)
	}
	return created, nil
}

// UpdateRun saves r over the stored run. When r.State differs from the
// stored state it records the transition (reason r.Reason, at r.UpdatedAt
// or now) and enqueues one report per reporter, all in one transaction. A
// state a reporter was already given is never enqueued for it again.
func (s *Store) UpdateRun(ctx context.Context, r *engine.Run, reporters []string) error {
	if err := checkRun(r); err != nil {
		return fmt.Errorf("update run: %w", err)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var old string
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT state, created_at FROM runs WHERE id = ?`, r.ID).Scan(&old, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return engine.ErrNotFound
		}
		if err != nil {
			return err
		}
		if r.CreatedAt.IsZero() {
			r.CreatedAt = time.Unix(0, created).UTC()
		}
		if engine.State(old) != r.State {
			if err := s.recordTransition(ctx, tx, r, engine.State(old), reporters); err != nil {
				return err
			}
		}
		data, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
UPDATE runs SET repo = ?, job_path = ?, ref = ?, pr = ?, sha = ?, state = ?, terminal = ?, created_at = ?, data = ?
WHERE id = ?`,
			r.Repo, r.JobPath, r.Ref, r.PR, r.SHA, string(r.State), r.State.Terminal(), r.CreatedAt.UnixNano(), string(data), r.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("update run %s: %w", r.ID, err)
	}
	return nil
}

func checkRun(r *engine.Run) error {
	switch {
	case r == nil:
		return errors.New("nil run")
	case r.ID == "":
		return errors.New("run has no ID")
	case r.State == "":
		return fmt.Errorf("run %s has no state", r.ID)
	}
	return nil
}

// recordTransition stores from → r.State and enqueues its reports.
func (s *Store) recordTransition(ctx context.Context, tx *sql.Tx, r *engine.Run, from engine.State, reporters []string) error {
	at := r.UpdatedAt
	if at.IsZero() {
		at = s.now()
	}
	if _, err := tx.ExecContext(ctx, `
INSERT INTO transitions (run_id, from_state, to_state, reason, at) VALUES (?, ?, ?, ?, ?)`,
		r.ID, string(from), string(r.State), r.Reason, at.UnixNano()); err != nil {
		return fmt.Errorf("record transition: %w", err)
	}
	return s.enqueue(ctx, tx, r.ID, r.State, reporters, at)
}

// GetRun returns the run with this ID, or an error wrapping sync.ErrNotFound.
func (s *Store) GetRun(ctx context.Context, id string) (*engine.Run, error) {
	var data string
	err := s.r.QueryRowContext(ctx, `SELECT data FROM runs WHERE id = ?`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %q: %w", id, engine.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get run %s: %w", id, err)
	}
	return decodeRun(data)
}

// ListRuns returns the runs f selects, newest (by CreatedAt) first.
func (s *Store) ListRuns(ctx context.Context, f engine.RunFilter) ([]*engine.Run, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("list runs: negative limit %d", f.Limit)
	}
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.Repo != "" {
		add("repo = ?", f.Repo)
	}
	if f.JobPath != "" {
		add("job_path = ?", f.JobPath)
	}
	if f.Ref != "" {
		add("ref = ?", f.Ref)
	}
	if f.PR != 0 {
		add("pr = ?", f.PR)
	}
	if f.SHA != "" {
		add("sha = ?", f.SHA)
	}
	if len(f.States) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?,", len(f.States)), ",")
		where = append(where, "state IN ("+marks+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	q := "SELECT data FROM runs"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	runs, err := s.queryRuns(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

// ActiveRuns returns every run in a non-terminal state, oldest first: the
// runs a restarted syncer must re-adopt or re-queue.
func (s *Store) ActiveRuns(ctx context.Context) ([]*engine.Run, error) {
	runs, err := s.queryRuns(ctx, `SELECT data FROM runs WHERE terminal = 0 ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("active runs: %w", err)
	}
	return runs, nil
}

// LatestSucceeded returns the newest succeeded run of a job on a branch
// (any trigger whose ref is refs/heads/<branch>), the baseline that a pull
// request's metrics are compared with. None: an error wrapping
// sync.ErrNotFound.
func (s *Store) LatestSucceeded(ctx context.Context, repo, jobPath, branch string) (*engine.Run, error) {
	runs, err := s.queryRuns(ctx, `
SELECT data FROM runs
WHERE repo = ? AND job_path = ? AND ref = ? AND state = ?
ORDER BY created_at DESC, id DESC LIMIT 1`,
		repo, jobPath, "refs/heads/"+branch, string(engine.StateSucceeded))
	if err != nil {
		return nil, fmt.Errorf("latest succeeded run of %s %s on %s: %w", repo, jobPath, branch, err)
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("no succeeded run of %s %s on %s: %w", repo, jobPath, branch, engine.ErrNotFound)
	}
	return runs[0], nil
}

// Transitions returns the run's recorded state changes, oldest first.
func (s *Store) Transitions(ctx context.Context, runID string) ([]engine.Transition, error) {
	rows, err := s.r.QueryContext(ctx, `
SELECT from_state, to_state, reason, at FROM transitions WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("transitions of %s: %w", runID, err)
	}
	defer rows.Close()
	var ts []engine.Transition
	for rows.Next() {
		t := engine.Transition{RunID: runID}
		var at int64
		if err := rows.Scan(&t.From, &t.To, &t.Reason, &at); err != nil {
			return nil, fmt.Errorf("transitions of %s: %w", runID, err)
		}
		t.At = time.Unix(0, at).UTC()
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("transitions of %s: %w", runID, err)
	}
	if len(ts) == 0 {
		// Every stored run has its creation transition.
		if _, err := s.GetRun(ctx, runID); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

func (s *Store) queryRuns(ctx context.Context, q string, args ...any) ([]*engine.Run, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var runs []*engine.Run
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		r, err := decodeRun(data)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

func decodeRun(data string) (*engine.Run, error) {
	var r engine.Run
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return nil, fmt.Errorf("decode stored run: %w", err)
	}
	return &r, nil
}
