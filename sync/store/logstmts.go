package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// logStmts are the log statements, prepared once: logs are the store's hot
// path (a call per streamed chunk), and preparing a statement costs about
// as much as running these.
type logStmts struct {
	end    *sql.Stmt // writer: last chunk number and log size
	insert *sql.Stmt // writer: one chunk
	size   *sql.Stmt // reader: log size
	read   *sql.Stmt // reader: the chunk holding an offset

	// The cut statements are prepared apart (cutStmts), their error kept
	// for where they are used: a test's store at an older schema version
	// has no log_cuts table.
	cutOnce   sync.Once
	cutErr    error
	w, r      *sql.DB
	cutGet    *sql.Stmt // writer: the run's cut, if any
	cutPut    *sql.Stmt // writer: insert or replace the run's cut
	tailFirst *sql.Stmt // writer: offset and length of the oldest chunk after the cut
	chunkDel  *sql.Stmt // writer: delete one chunk, returning its data
	cutRead   *sql.Stmt // reader: the run's cut, if any
}

// Selecting length(data) reads only the record header, not the chunk.
const (
	sqlLogEnd = `
SELECT seq, off + length(data) FROM log_chunks WHERE run_id = ? ORDER BY off DESC LIMIT 1`
	sqlLogInsert = `
INSERT INTO log_chunks (run_id, seq, off, data) VALUES (?, ?, ?, ?)`
	sqlLogRead = `
SELECT off, data FROM log_chunks WHERE run_id = ? AND off <= ? ORDER BY off DESC LIMIT 1`
	sqlCutGet = `
SELECT head_end, cut_end, cut_lines, mid_line FROM log_cuts WHERE run_id = ?`
	sqlCutPut = `
INSERT OR REPLACE INTO log_cuts (run_id, head_end, cut_end, cut_lines, mid_line) VALUES (?, ?, ?, ?, ?)`
	sqlTailFirst = `
SELECT off, length(data) FROM log_chunks WHERE run_id = ? AND off >= ? ORDER BY off LIMIT 1`
	sqlChunkDel = `
DELETE FROM log_chunks WHERE run_id = ? AND off = ? RETURNING data`
)

func (l *logStmts) prepare(ctx context.Context, w, r *sql.DB) error {
	var err error
	prep := func(db *sql.DB, q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.PrepareContext(ctx, q)
		return st
	}
	l.end = prep(w, sqlLogEnd)
	l.insert = prep(w, sqlLogInsert)
	l.size = prep(r, sqlLogEnd)
	l.read = prep(r, sqlLogRead)
	l.w, l.r = w, r
	if err != nil {
		return fmt.Errorf("prepare log statements: %w", err)
	}
	return nil
}

// cutStmts prepares the statements of log cuts, once.
func (l *logStmts) cutStmts() error {
	l.cutOnce.Do(func() {
		ctx := context.Background()
		var err error
		prep := func(db *sql.DB, q string) *sql.Stmt {
			if err != nil {
				return nil
			}
			var st *sql.Stmt
			st, err = db.PrepareContext(ctx, q)
			return st
		}
		l.cutGet = prep(l.w, sqlCutGet)
		l.cutPut = prep(l.w, sqlCutPut)
		l.tailFirst = prep(l.w, sqlTailFirst)
		l.chunkDel = prep(l.w, sqlChunkDel)
		l.cutRead = prep(l.r, sqlCutGet)
		if err != nil {
			l.cutErr = fmt.Errorf("prepare log cut statements: %w", err)
		}
	})
	return l.cutErr
}

func (l *logStmts) close() error {
	l.cutOnce.Do(func() {}) // no preparing after close
	var errs []error
	for _, st := range []*sql.Stmt{l.end, l.insert, l.size, l.read, l.cutGet, l.cutPut, l.tailFirst, l.chunkDel, l.cutRead} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}
