package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"io"
)

// MaxChunk is the largest log chunk stored in one row. Larger appends are
// split, so a reader never holds more than this much of a log in memory.
const MaxChunk = 256 << 10

// AppendLog appends p to the run's log and persists it before returning.
// Callers batch small writes; each call costs one transaction. The run must
// exist (else an error wrapping engine.ErrNotFound). Past the log limit
// (SetLogLimit) the middle of the log is dropped. A full disk fails it
// with an error wrapping engine.ErrDiskFull; the log is then as before.
// So does every append while the space reserve is in use (KeepReserve).
func (s *Store) AppendLog(ctx context.Context, runID string, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if !s.restoreReserve(ctx) {
		return fmt.Errorf("append log of %s: %w", runID, errNoReserve)
	}
	limit := s.logLimit.Load()
	if limit > 0 {
		if err := s.logs.cutStmts(); err != nil {
			return fmt.Errorf("append log of %s: %w", runID, err)
		}
	}
	// Log appends do not use the space reserve: it is for state changes.
	err := s.writeTxOnce(ctx, func(tx *sql.Tx) error {
		seq, end, err := logEnd(ctx, tx.StmtContext(ctx, s.logs.end), tx, runID)
		if err != nil {
			return err
		}
		w := &chunkWriter{ctx: ctx, insert: tx.StmtContext(ctx, s.logs.insert), runID: runID, seq: seq, end: end}
		if limit <= 0 {
			return w.write(p)
		}
		return s.appendCapped(ctx, tx, w, p, limit)
	})
	if err != nil {
		return fmt.Errorf("append log of %s: %w", runID, err)
	}
	return nil
}

// logEnd returns the run's last chunk number (-1 for none) and log size,
// through end (a prepared statement on the writer or the read pool).
func logEnd(ctx context.Context, end *sql.Stmt, q querier, runID string) (seq, size int64, err error) {
	err = end.QueryRowContext(ctx, runID).Scan(&seq, &size)
	if errors.Is(err, sql.ErrNoRows) {
		if err := runExists(ctx, q, runID); err != nil {
			return 0, 0, err
		}
		return -1, 0, nil
	}
	return seq, size, err
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func runExists(ctx context.Context, q querier, runID string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM runs WHERE id = ?`, runID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("run %q: %w", runID, engine.ErrNotFound)
	}
	return err
}

// LogSize is the length of the run's log in bytes so far, counting the
// bytes a cut dropped.
func (s *Store) LogSize(ctx context.Context, runID string) (int64, error) {
	_, end, err := logEnd(ctx, s.logs.size, s.r, runID)
	if err != nil {
		return 0, fmt.Errorf("log size of %s: %w", runID, err)
	}
	return end, nil
}

// OpenLog returns a reader of the run's log from byte offset off. It reads
// one chunk at a time, on demand, so memory stays bounded by MaxChunk
// however long the log. ctx bounds every read. At the log's current end
// Read returns io.EOF; a later Read returns whatever was appended since, so
// one reader can follow a growing log. Where the log limit dropped bytes,
// the reader returns one line saying how many instead, and goes on after
// them.
func (s *Store) OpenLog(ctx context.Context, runID string, off int64) (io.ReadCloser, error) {
	if off < 0 {
		return nil, fmt.Errorf("open log of %s: negative offset %d", runID, off)
	}
	size, err := s.LogSize(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	if off > size {
		return nil, fmt.Errorf("open log of %s: offset %d is past the end of the log (%d bytes)", runID, off, size)
	}
	return &logReader{ctx: ctx, read: s.logs.read, stmts: &s.logs, runID: runID, pos: off}, nil
}

// logReader streams a log chunk by chunk. It holds no connection between
// reads, so it never pins a snapshot or blocks a WAL checkpoint.
type logReader struct {
	ctx    context.Context
	read   *sql.Stmt // sqlLogRead on the read pool
	stmts  *logStmts // for the cut, read only where a chunk ends
	runID  string
	pos    int64  // log offset of the next byte of the log to return
	chunk  []byte // reused buffer holding the current chunk
	rest   []byte // unread tail of chunk, or of a cut's marker
	marker bool   // rest is a marker: its bytes are not log offsets
	closed bool
}

// offset is the log offset the reader reached: where a later reader
// resumes.
func (r *logReader) offset() int64 { return r.pos }

// consumed accounts for n bytes of rest handed out.
func (r *logReader) consumed(n int) {
	r.rest = r.rest[n:]
	if !r.marker {
		r.pos += int64(n)
	}
}

var errClosed = errors.New("read log: reader closed")

func (r *logReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	if len(r.rest) == 0 {
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.rest)
	r.consumed(n)
	return n, nil
}

// WriteTo lets io.Copy write whole chunks without an intermediate buffer.
// It stops at the log's current end.
func (r *logReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if r.closed {
			return total, errClosed
		}
		if len(r.rest) == 0 {
			if err := r.fill(); err == io.EOF {
				return total, nil
			} else if err != nil {
				return total, err
			}
		}
		n, err := w.Write(r.rest)
		r.consumed(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// fill loads the chunk holding offset pos, or the marker of the cut pos
// is in (moving pos past the cut), or returns io.EOF when pos is the log's
// end.
func (r *logReader) fill() error {
	r.marker = false
	rows, err := r.read.QueryContext(r.ctx, r.runID, r.pos)
	if err != nil {
		return fmt.Errorf("read log of %s: %w", r.runID, err)
	}
	defer rows.Close()
	if rows.Next() {
		var off int64
		var data sql.RawBytes // valid until rows.Close: copied into the reused buffer
		if err := rows.Scan(&off, &data); err != nil {
			return fmt.Errorf("read log of %s: %w", r.runID, err)
		}
		if skip := r.pos - off; skip < int64(len(data)) {
			r.chunk = append(r.chunk[:0], data[skip:]...)
			r.rest = r.chunk
			return rows.Close()
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read log of %s: %w", r.runID, err)
	}
	rows.Close()
	// Past the chunk before pos: at the end, or in a cut.
	err = r.stmts.cutStmts()
	var c logCut
	var ok bool
	if err == nil {
		c, ok, err = getCut(r.ctx, r.stmts.cutRead, r.runID)
	}
	if err != nil {
		return fmt.Errorf("read log of %s: %w", r.runID, err)
	}
	if !ok || !c.gap() || r.pos < c.headEnd || r.pos >= c.cutEnd {
		return io.EOF
	}
	r.rest, r.marker, r.pos = c.marker(), true, c.cutEnd
	return nil
}

func (r *logReader) Close() error {
	r.closed = true
	r.chunk, r.rest = nil, nil
	return nil
}
