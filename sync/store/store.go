// Package store keeps gitlaunch's state in one SQLite file: run history,
// run logs, the report outbox, and the engine's own state (planned refs,
// poll errors, schedule slots, cancel requests), each in a table of its
// own. It implements engine.Store, through the pure-Go driver
// modernc.org/sqlite, and the requests other processes file for the
// engine (RequestCancel).
//
// SQLite allows one writer at a time, so the Store holds two pools on the
// same file: a writer with a single connection, through which every write
// is serialised in Go instead of spinning on SQLITE_BUSY, and a read pool
// of several query-only connections. In WAL mode readers never block the
// writer and see the last committed state.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var _ engine.Store = (*Store)(nil)

// busyTimeout is how long a connection waits for another process's write
// lock (a CLI command writing while the daemon runs) before SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// walSizeLimit is the size the WAL file is cut back to after a checkpoint.
const walSizeLimit = 16 << 20

// Store is an engine.Store on one SQLite file. It is safe for concurrent use.
type Store struct {
	path string
	w    *sql.DB // one connection: all writes
	r    *sql.DB // query-only connections: all reads
	now  func() time.Time
	logs logStmts
	// logLimit caps each run's log (SetLogLimit); 0: no cap.
	logLimit atomic.Int64
	// reserve holds disk space for state writes (KeepReserve); nil: none.
	reserve *reserve
	// opened identifies the file opened, for Check.
	opened os.FileInfo
}

// Open opens the database at path, creating the file and its folder if
// needed, and migrates its schema to this build's version. It refuses a
// database written by a newer gitlaunch.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, 1, true)
}

// open is Open with a choice of writer connections (benchmarks compare one,
// where writes queue in Go, with several, where they contend in SQLite),
// and of whether a missing file is created.
func open(ctx context.Context, path string, writers int, create bool) (*Store, error) {
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	if dir := filepath.Dir(path); dir != "" && create {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open store: create folder: %w", err)
		}
	}
	wdsn := dsn(path, false)
	if !create {
		wdsn += "&mode=rw" // SQLite's own check: a file gone since the caller looked is not created
	}
	w, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(writers)
	w.SetMaxIdleConns(writers)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	// Migrate before the read pool exists: the first connection creates the
	// file and switches it to WAL, which query-only connections cannot do.
	if err := migrate(ctx, w, migrations); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	opened, err := os.Stat(path)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{path: path, w: w, r: r, now: time.Now, opened: opened}
	if err := s.logs.prepare(ctx, w, r); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// Prepared now, while the writer is free; an error (a test's older
	// schema) is kept and returned where cuts are used.
	_ = s.logs.cutStmts()
	return s, nil
}

// dsn builds the driver's connection string. Writers begin transactions
// with BEGIN IMMEDIATE so a read-then-write transaction takes the write
// lock up front and waits (busy_timeout) rather than failing mid-way when
// another process wrote in between.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", "NORMAL")
	if readOnly {
		q.Set("_query_only", "1")
	} else {
		q.Set("_journal_mode", "WAL")
		q.Set("_txlock", "immediate")
		// A WAL that a burst of writes (or a long reader) made large is
		// truncated back to this after a checkpoint, not kept at its peak.
		q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", walSizeLimit))
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Close closes both pools. Readers returned by OpenLog fail afterwards.
func (s *Store) Close() error {
	// Let SQLite refresh its planner statistics; cheap and best-effort.
	_, _ = s.w.Exec("PRAGMA optimize")
	return errors.Join(s.logs.close(), s.r.Close(), s.w.Close())
}

// Times are stored as Unix nanoseconds (UTC) so that they sort as integers
// and round-trip exactly; the zero time is stored as NULL.

func toNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
