package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// PlannedRefs returns the refs of repo whose changes were planned; ok is
// false when none were ever saved, which the engine treats as first sight.
func (s *Store) PlannedRefs(ctx context.Context, repo string) (map[string]string, bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM planned_repos WHERE repo = ?`, repo).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return map[string]string{}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("planned refs of %s: %w", repo, err)
	}
	refs, err := plannedRefs(ctx, s.r, repo)
	if err != nil {
		return nil, false, err
	}
	return refs, true, nil
}

// rowsQuerier is what *sql.DB and *sql.Tx share for multi-row queries.
type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func plannedRefs(ctx context.Context, q rowsQuerier, repo string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT ref, sha FROM planned_refs WHERE repo = ?`, repo)
	if err != nil {
		return nil, fmt.Errorf("planned refs of %s: %w", repo, err)
	}
	defer rows.Close()
	refs := map[string]string{}
	for rows.Next() {
		var ref, sha string
		if err := rows.Scan(&ref, &sha); err != nil {
			return nil, fmt.Errorf("planned refs of %s: %w", repo, err)
		}
		refs[ref] = sha
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("planned refs of %s: %w", repo, err)
	}
	return refs, nil
}

// SavePlannedRefs replaces the planned refs of repo (an empty set too: the
// repository is then no longer new). Only the rows that differ are written:
// a GitHub repository keeps a ref per pull request ever opened, and a push
// changes one of them.
func (s *Store) SavePlannedRefs(ctx context.Context, repo string, refs map[string]string) error {
	if repo == "" {
		return errors.New("save planned refs: empty repository name")
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO planned_repos (repo) VALUES (?) ON CONFLICT DO NOTHING`, repo); err != nil {
			return err
		}
		old, err := plannedRefs(ctx, tx, repo)
		if err != nil {
			return err
		}
		var gone, set []string
		for ref := range old {
			if _, ok := refs[ref]; !ok {
				gone = append(gone, ref)
			}
		}
		for ref, sha := range refs {
			if prev, ok := old[ref]; !ok || prev != sha {
				set = append(set, ref)
			}
		}
		if err := execEach(ctx, tx, `DELETE FROM planned_refs WHERE repo = ? AND ref = ?`, gone, func(ref string) []any {
			return []any{repo, ref}
		}); err != nil {
			return err
		}
		return execEach(ctx, tx, `
INSERT INTO planned_refs (repo, ref, sha) VALUES (?, ?, ?)
ON CONFLICT (repo, ref) DO UPDATE SET sha = excluded.sha`, set, func(ref string) []any {
			return []any{repo, ref, refs[ref]}
		})
	})
	if err != nil {
		return fmt.Errorf("save planned refs of %s: %w", repo, err)
	}
	return nil
}

// execEach runs query once per key, with the arguments args gives for it,
// through one prepared statement.
func execEach(ctx context.Context, tx *sql.Tx, query string, keys []string, args func(string) []any) error {
	if len(keys) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, k := range keys {
		if _, err := stmt.ExecContext(ctx, args(k)...); err != nil {
			return err
		}
	}
	return nil
}

// PutPollError records that polling e.Repo fails, replacing what was
// recorded for it.
func (s *Store) PutPollError(ctx context.Context, e engine.PollError) error {
	if e.Repo == "" {
		return errors.New("put poll error: empty repository name")
	}
	if _, err := s.w.ExecContext(ctx, `
INSERT INTO poll_errors (repo, err, since, next_try) VALUES (?, ?, ?, ?)
ON CONFLICT (repo) DO UPDATE SET err = excluded.err, since = excluded.since, next_try = excluded.next_try`,
		e.Repo, e.Err, toNanos(e.Since), toNanos(e.NextTry)); err != nil {
		return fmt.Errorf("put poll error of %s: %w", e.Repo, err)
	}
	return nil
}

// DeletePollError forgets the poll error of repo, if any.
func (s *Store) DeletePollError(ctx context.Context, repo string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM poll_errors WHERE repo = ?`, repo); err != nil {
		return fmt.Errorf("delete poll error of %s: %w", repo, err)
	}
	return nil
}

// PollErrors lists the recorded poll errors by repository name.
func (s *Store) PollErrors(ctx context.Context) ([]engine.PollError, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT repo, err, since, next_try FROM poll_errors ORDER BY repo`)
	if err != nil {
		return nil, fmt.Errorf("poll errors: %w", err)
	}
	defer rows.Close()
	var out []engine.PollError
	for rows.Next() {
		var e engine.PollError
		var since, next sql.NullInt64
		if err := rows.Scan(&e.Repo, &e.Err, &since, &next); err != nil {
			return nil, fmt.Errorf("poll errors: %w", err)
		}
		e.Since, e.NextTry = fromNanos(since), fromNanos(next)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("poll errors: %w", err)
	}
	return out, nil
}
