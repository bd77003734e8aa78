package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrSchemaTooNew is returned (wrapped) by Open when the database was
// written by a newer gitlaunch than this one.
var ErrSchemaTooNew = errors.New("database schema is newer than this gitlaunch")

// migrations are the schema steps in order; PRAGMA user_version counts how
// many a database has applied. Append new steps; never edit a released one.
var migrations = []string{
	// 1: runs, transitions, logs, outbox, kv (now only legacy cron slots).
	`
CREATE TABLE runs (
	id         TEXT PRIMARY KEY,
	repo       TEXT NOT NULL,
	job_path   TEXT NOT NULL,
	ref        TEXT NOT NULL,
	pr         INTEGER NOT NULL,
	sha        TEXT NOT NULL,
	state      TEXT NOT NULL,
	terminal   INTEGER NOT NULL, -- State.Terminal() when saved
	created_at INTEGER NOT NULL, -- Unix ns
	data       TEXT NOT NULL     -- the whole sync.Run as JSON
) STRICT;
CREATE INDEX runs_created  ON runs (created_at, id);
CREATE INDEX runs_job      ON runs (repo, job_path, created_at, id);
CREATE INDEX runs_ref      ON runs (ref, created_at, id);
CREATE INDEX runs_pr       ON runs (pr, created_at, id);
CREATE INDEX runs_sha      ON runs (sha);
CREATE INDEX runs_state    ON runs (state, created_at, id);
CREATE INDEX runs_active   ON runs (created_at, id) WHERE terminal = 0;

CREATE TABLE transitions (
	id         INTEGER PRIMARY KEY,
	run_id     TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	from_state TEXT NOT NULL,
	to_state   TEXT NOT NULL,
	reason     TEXT NOT NULL,
	at         INTEGER NOT NULL
) STRICT;
CREATE INDEX transitions_run ON transitions (run_id, id);

-- A log is a sequence of chunks; off is the byte offset of the chunk's
-- first byte in the log, so a reader finds any offset with one index probe.
CREATE TABLE log_chunks (
	run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	seq    INTEGER NOT NULL,
	off    INTEGER NOT NULL,
	data   BLOB NOT NULL,
	PRIMARY KEY (run_id, off)
) STRICT;

CREATE TABLE outbox (
	id           INTEGER PRIMARY KEY,
	reporter     TEXT NOT NULL,
	run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	state        TEXT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_at      INTEGER NOT NULL,
	last_err     TEXT NOT NULL DEFAULT '',
	delivered_at INTEGER,
	UNIQUE (reporter, run_id, state)
) STRICT;
CREATE INDEX outbox_due ON outbox (next_at, id) WHERE delivered_at IS NULL;

CREATE TABLE kv (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;
`,
	// 2: the engine's state in tables of its own instead of kv keys composed
	// of strings, carried over from kv. Schedules' last slots stay in kv
	// until the schedule is next handled (see legacyCronKey): their keys
	// cannot be split back into their parts.
	`
-- A repository whose planned refs were saved, possibly none: a repository
-- without a row is new to the engine.
CREATE TABLE planned_repos (
	repo TEXT PRIMARY KEY
) STRICT;
CREATE TABLE planned_refs (
	repo TEXT NOT NULL REFERENCES planned_repos (repo) ON DELETE CASCADE,
	ref  TEXT NOT NULL,
	sha  TEXT NOT NULL,
	PRIMARY KEY (repo, ref)
) STRICT, WITHOUT ROWID;

CREATE TABLE poll_errors (
	repo     TEXT PRIMARY KEY,
	err      TEXT NOT NULL,
	since    INTEGER, -- Unix ns; NULL = unknown
	next_try INTEGER
) STRICT;

CREATE TABLE cron_slots (
	repo      TEXT NOT NULL,
	job_path  TEXT NOT NULL,
	branch    TEXT NOT NULL,
	timezone  TEXT NOT NULL,
	spec      TEXT NOT NULL,
	last_slot INTEGER NOT NULL,
	PRIMARY KEY (repo, job_path, branch, timezone, spec)
) STRICT, WITHOUT ROWID;

-- Other processes (the CLI) ask the dispatching process to cancel runs.
CREATE TABLE cancel_requests (
	id           INTEGER PRIMARY KEY,
	run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	reason       TEXT NOT NULL,
	requested_by TEXT NOT NULL,
	requested_at INTEGER NOT NULL,
	taken_at     INTEGER
) STRICT;
CREATE INDEX cancel_requests_open ON cancel_requests (id) WHERE taken_at IS NULL;

-- Version 1 kept refs/<repo> and repo-errors as JSON objects; a value that
-- is not one is dropped (json_each reads '{}' instead).
INSERT INTO planned_repos (repo)
SELECT substr(key, 6) FROM kv
WHERE substr(key, 1, 5) = 'refs/' AND length(key) > 5
	AND json_type(CASE WHEN json_valid(value) THEN value ELSE 'null' END) = 'object';
INSERT INTO planned_refs (repo, ref, sha)
SELECT substr(kv.key, 6), j.key, j.value
FROM kv, json_each(CASE WHEN json_valid(kv.value) THEN kv.value ELSE '{}' END) AS j
WHERE substr(kv.key, 1, 5) = 'refs/' AND length(kv.key) > 5 AND j.type = 'text'
	AND substr(kv.key, 6) IN (SELECT repo FROM planned_repos);
INSERT INTO poll_errors (repo, err)
SELECT j.key, j.value
FROM kv, json_each(CASE WHEN json_valid(kv.value) THEN kv.value ELSE '{}' END) AS j
WHERE kv.key = 'repo-errors' AND j.type = 'text' AND j.value != '';
-- cancel/<run id>: an open request when the value (the reason) is set.
INSERT INTO cancel_requests (run_id, reason, requested_by, requested_at)
SELECT substr(key, 8), value, '', CAST(unixepoch('subsec') * 1000000000 AS INTEGER) FROM kv
WHERE substr(key, 1, 7) = 'cancel/' AND value != '' AND substr(key, 8) IN (SELECT id FROM runs);
DELETE FROM kv WHERE substr(key, 1, 5) = 'refs/' OR key = 'repo-errors' OR substr(key, 1, 7) = 'cancel/';
`,
	// 3: bounded disk. A log over the store's limit keeps its head and
	// tail; retention replaces an old run's log with a note.
	`
-- Bytes [head_end, cut_end) of the run's log were dropped, cut_lines
-- newlines among them; readers show one line saying so instead. mid_line:
-- the head ends inside a line.
CREATE TABLE log_cuts (
	run_id    TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
	head_end  INTEGER NOT NULL,
	cut_end   INTEGER NOT NULL,
	cut_lines INTEGER NOT NULL,
	mid_line  INTEGER NOT NULL
) STRICT;

-- Runs whose log and workspace the retention policy removed; their row in
-- runs (state, metrics, timings) stays.
CREATE TABLE pruned_runs (
	run_id    TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
	pruned_at INTEGER NOT NULL,
	log_bytes INTEGER NOT NULL
) STRICT;
`,
}

// migrate applies the steps db has not applied yet, all in one transaction
// so that a failed step leaves the database as it was. The version is read
// inside the (immediate) transaction, so two processes opening the same new
// file cannot both apply a step.
func migrate(ctx context.Context, db *sql.DB, steps []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	switch {
	case v > len(steps):
		return fmt.Errorf("%w: the file has schema version %d, this build knows up to %d; upgrade gitlaunch or use another database file",
			ErrSchemaTooNew, v, len(steps))
	case v == len(steps):
		return nil
	case v < 0:
		return fmt.Errorf("migrate: invalid schema version %d", v)
	}
	for i := v; i < len(steps); i++ {
		if _, err := tx.ExecContext(ctx, steps[i]); err != nil {
			return fmt.Errorf("migrate: step %d: %w", i+1, err)
		}
	}
	// PRAGMA takes no bound parameters; the value is an int we control.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(steps))); err != nil {
		return fmt.Errorf("migrate: set schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
