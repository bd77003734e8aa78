package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// sqliteFull is SQLITE_FULL: a write found no room on the disk.
const sqliteFull = 13

// isFull reports whether err says the disk is full.
func isFull(err error) bool {
	var se interface{ Code() int }
	if errors.As(err, &se) && se.Code()&0xff == sqliteFull {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}

// wrapFull marks a full disk's error as engine.ErrDiskFull.
func wrapFull(err error) error {
	if err == nil || errors.Is(err, engine.ErrDiskFull) || !isFull(err) {
		return err
	}
	return fmt.Errorf("%w: %w", engine.ErrDiskFull, err)
}

// A space reserve is a file of zeros next to the database, held so that
// the writes that record state (a run's end and its reason, an outbox
// item) still fit once the disk is full: the first such write that finds
// no room frees the reserve and tries again. While the reserve is gone,
// log appends are refused (the room is for state) and SQLite's automatic
// checkpoints are off (a checkpoint would spend the room growing the main
// file); both come back with the reserve, made again once there is room
// (tried at most every reserveRetry).
type reserve struct {
	path string
	size int64

	mu      sync.Mutex
	held    bool
	lastTry time.Time
}

// reserveRetry is how often a missing reserve is tried again; a variable
// for tests.
var reserveRetry = time.Second

// autoCheckpoint is SQLite's default wal_autocheckpoint, in pages.
const autoCheckpoint = 1000

// KeepReserve holds size bytes of the disk for state writes (see
// reserve); Open holds none. Call it once, before the Store is shared. It
// fails when the room is not there. One process holds the reserve of a
// store: the one that dispatches.
func (s *Store) KeepReserve(size int64) error {
	if size <= 0 {
		return nil
	}
	rv := &reserve{path: s.path + ".reserve", size: size}
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if err := rv.fill(); err != nil {
		return fmt.Errorf("keep %d bytes in reserve for the store: %w", size, wrapFull(err))
	}
	s.reserve = rv
	return nil
}

// fill (re)writes the reserve file; the caller holds mu.
func (rv *reserve) fill() error {
	rv.lastTry = time.Now()
	f, err := os.OpenFile(rv.path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	zeros := make([]byte, 64<<10)
	for left := rv.size; left > 0 && err == nil; left -= int64(len(zeros)) {
		_, err = f.Write(zeros[:min(left, int64(len(zeros)))])
	}
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close())
	if err != nil {
		_ = os.Remove(rv.path)
		return err
	}
	rv.held = true
	return nil
}

// release frees the reserve; it reports whether there was one to free.
func (rv *reserve) release() bool {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if !rv.held {
		return false
	}
	rv.held = false
	rv.lastTry = time.Now()
	return os.Remove(rv.path) == nil
}

// restore makes the reserve again when it is gone and it is time to try;
// made reports whether it made it now, held whether it is held.
func (rv *reserve) restore() (made, held bool) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.held {
		return false, true
	}
	// At once when there is room (an admin freed some), else now and then.
	if time.Since(rv.lastTry) < reserveRetry && !roomFor(filepath.Dir(rv.path), 2*rv.size) {
		return false, false
	}
	if err := rv.fill(); err != nil {
		return false, false // no room yet: tried again later
	}
	return true, true
}

// restoreReserve makes the reserve again when there is room, and then
// turns automatic checkpoints back on. It reports whether the reserve is
// held (true without one). The writer's connection must be free.
func (s *Store) restoreReserve(ctx context.Context) bool {
	if s.reserve == nil {
		return true
	}
	made, held := s.reserve.restore()
	if made {
		_, _ = s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", autoCheckpoint))
	}
	return held
}

// Reserved reports whether the space reserve is held (false when none was
// asked for, or when a full disk used it up).
func (s *Store) Reserved() bool {
	if s.reserve == nil {
		return false
	}
	s.reserve.mu.Lock()
	defer s.reserve.mu.Unlock()
	return s.reserve.held
}

// writeTx runs fn in one write transaction, committing when fn returns
// nil. When the disk is full it frees the space reserve and tries once
// more; a full disk's error wraps engine.ErrDiskFull.
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	err := s.writeTxOnce(ctx, fn)
	if isFull(err) && s.reserve != nil && s.reserve.release() {
		// The room freed is for this write and the next few state writes,
		// not for a checkpoint that grows the main file.
		_, _ = s.w.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 0")
		err = s.writeTxOnce(ctx, fn)
	}
	return wrapFull(err)
}

// writeTxOnce is writeTx without the space reserve.
func (s *Store) writeTxOnce(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return wrapFull(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return wrapFull(err)
	}
	if err := tx.Commit(); err != nil {
		return wrapFull(err)
	}
	s.restoreReserve(ctx)
	return nil
}

// errNoReserve refuses a log append while the space reserve is gone.
var errNoReserve = fmt.Errorf("%w: the store's space reserve is in use; output is not stored until there is room again", engine.ErrDiskFull)
