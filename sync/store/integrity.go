package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// ErrNoStore is returned (wrapped) by OpenExisting when there is no store
// file at the path.
var ErrNoStore = errors.New("no store")

// ErrReplaced is returned (wrapped) by Check when the file at the store's
// path is not the one the Store has open any more.
var ErrReplaced = errors.New("the store file was replaced")

// OpenExisting opens the store at path for a process that only reads it:
// it never creates the file or its folder, and fails with an error
// wrapping ErrNoStore when there is none.
func OpenExisting(ctx context.Context, path string) (*Store, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w at %s", ErrNoStore, path)
	case err != nil:
		return nil, fmt.Errorf("open store: %w", err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("open store: %s is not a regular file", path)
	}
	return open(ctx, path, 1, false)
}

// Check reports whether the file at the store's path is still the one this
// Store opened (same device and inode). A deleted or replaced file is not:
// the Store would go on writing a file nobody else reads, so the syncer
// stops launching runs and its health check fails. The error wraps
// ErrReplaced and says what to do.
func (s *Store) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s was deleted while this process has it open; what it writes is lost: restart gitlaunch", ErrReplaced, s.path)
	case err != nil:
		return fmt.Errorf("check the store file: %w", err)
	case !os.SameFile(fi, s.opened):
		return fmt.Errorf("%w: %s is another file than the one this process opened (moved, copied or restored over it); restart gitlaunch to use it", ErrReplaced, s.path)
	}
	return nil
}

// IntegrityCheck runs SQLite's integrity check over the whole file; nil
// means the database is sound. It reads every page: for tests and
// operators, not for a health check run every few seconds.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check of %s: %s", s.path, strings.Join(problems, "; "))
	}
	return nil
}
