package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// CronSlot returns the last handled slot of the schedule k; ok is false for
// a schedule never seen.
func (s *Store) CronSlot(ctx context.Context, k engine.CronKey) (time.Time, bool, error) {
	var last int64
	err := s.r.QueryRowContext(ctx, `
SELECT last_slot FROM cron_slots
WHERE repo = ? AND job_path = ? AND branch = ? AND timezone = ? AND spec = ?`,
		k.Repo, k.JobPath, k.Branch, k.Timezone, k.Spec).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return s.legacyCronSlot(ctx, k)
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("cron slot of %s: %w", k.JobPath, err)
	}
	return time.Unix(0, last).UTC(), true, nil
}

// PutCronSlot records last as the schedule's last handled slot.
func (s *Store) PutCronSlot(ctx context.Context, k engine.CronKey, last time.Time) error {
	if k.Repo == "" || k.JobPath == "" || k.Spec == "" {
		return fmt.Errorf("put cron slot: incomplete key %+v", k)
	}
	if last.IsZero() {
		return fmt.Errorf("put cron slot of %s: zero time", k.JobPath)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
INSERT INTO cron_slots (repo, job_path, branch, timezone, spec, last_slot) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (repo, job_path, branch, timezone, spec) DO UPDATE SET last_slot = excluded.last_slot`,
			k.Repo, k.JobPath, k.Branch, k.Timezone, k.Spec, last.UnixNano()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM kv WHERE key = ?`, legacyCronKey(k))
		return err
	})
	if err != nil {
		return fmt.Errorf("put cron slot of %s: %w", k.JobPath, err)
	}
	return nil
}

// legacyCronKey is where schema version 1 kept a schedule's last slot (an
// RFC 3339 time) in the kv table. Migration 2 cannot carry those rows
// over, because their keys cannot be split back into their parts (job
// paths, branches, time zones and cron specs may all hold a slash), so
// CronSlot reads them until PutCronSlot replaces them.
func legacyCronKey(k engine.CronKey) string {
	return fmt.Sprintf("cron/%s/%s/%s/%s/%s", k.Repo, k.JobPath, k.Branch, k.Timezone, k.Spec)
}

func (s *Store) legacyCronSlot(ctx context.Context, k engine.CronKey) (time.Time, bool, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM kv WHERE key = ?`, legacyCronKey(k)).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("cron slot of %s: %w", k.JobPath, err)
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		// Unreadable: the schedule counts as new.
		return time.Time{}, false, nil
	}
	return t.UTC(), true, nil
}
