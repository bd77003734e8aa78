package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// logStmts are the log statements, prepared once: logs are the store's hot
// path (a call per streamed chunk), and preparing a statement costs about
// as much as running these.
type logStmts struct {
	end    *sql.Stmt // writer: last chunk number and log size
	insert *sql.Stmt // writer: one chunk
	size   *sql.Stmt // reader: log size
	read   *sql.Stmt // reader: the chunk holding an offset
}

// Selecting length(data) reads only the record header, not the chunk.
const (
	sqlLogEnd = `
SELECT seq, off + length(data) FROM log_chunks WHERE run_id = ? ORDER BY off DESC LIMIT 1`
	sqlLogInsert = `
INSERT INTO log_chunks (run_id, seq, off, data) VALUES (?, ?, ?, ?)`
	sqlLogRead = `
SELECT off, data FROM log_chunks WHERE run_id = ? AND off <= ? ORDER BY off DESC LIMIT 1`
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
	if err != nil {
		return fmt.Errorf("prepare log statements: %w", err)
	}
	return nil
}

func (l *logStmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{l.end, l.insert, l.size, l.read} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}
