package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// GetState returns the value stored under key; ok is false when there is
// none.
func (s *Store) GetState(ctx context.Context, key string) (value string, ok bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT value FROM kv WHERE key = ?`, key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("get state %q: %w", key, err)
	}
	return value, true, nil
}

// PutState stores value under key, replacing any earlier value.
func (s *Store) PutState(ctx context.Context, key, value string) error {
	if key == "" {
		return errors.New("put state: empty key")
	}
	if _, err := s.w.ExecContext(ctx, `
INSERT INTO kv (key, value) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("put state %q: %w", key, err)
	}
	return nil
}
