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

// StatePrefix returns every non-empty value whose key starts with prefix,
// in one range scan of the key index.
func (s *Store) StatePrefix(ctx context.Context, prefix string) (map[string]string, error) {
	if prefix == "" {
		return nil, errors.New("state prefix: empty prefix")
	}
	// Keys in [prefix, prefix+U+10FFFF) start with prefix (TEXT compares
	// by bytes, and no UTF-8 key continues past that rune).
	rows, err := s.r.QueryContext(ctx, `SELECT key, value FROM kv WHERE key >= ? AND key < ? AND value != ''`,
		prefix, prefix+"\U0010FFFF")
	if err != nil {
		return nil, fmt.Errorf("state prefix %q: %w", prefix, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("state prefix %q: %w", prefix, err)
		}
		out[k] = v
	}
	return out, rows.Err()
}
