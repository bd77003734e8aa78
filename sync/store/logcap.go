package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// A run's log is capped at the store's log limit (SetLogLimit). Its first
// quarter is the head, kept whole; past it, output is kept as a tail of at
// least the other three quarters, the oldest tail chunks dropped as new
// ones come, so a run that writes without end costs the limit and no more.
// Offsets keep counting every byte the run wrote, so a follower resumes
// where it was; a reader that reaches the dropped range gets one line
// saying what was cut (cutMarker) and goes on after it.

// SetLogLimit caps every run's stored log at about n bytes (at most one
// chunk more); n <= 0 removes the cap. It applies to appends from then on.
func (s *Store) SetLogLimit(n int64) { s.logLimit.Store(n) }

// logCut says which bytes of a log were dropped: [headEnd, cutEnd), lines
// newlines among them. midLine: the head ends inside a line.
type logCut struct {
	headEnd, cutEnd, lines int64
	midLine                bool
}

func (c logCut) gap() bool { return c.cutEnd > c.headEnd }

// note says what was cut, in one line.
func (c logCut) note() string {
	return fmt.Sprintf("… %d bytes (%d lines) cut … (the log passed its size limit, sync.logLimit: its start and its end are kept)",
		c.cutEnd-c.headEnd, c.lines)
}

// marker is the line readers see in place of the dropped bytes.
func (c logCut) marker() []byte {
	var b []byte
	if c.midLine {
		b = append(b, '\n')
	}
	return append(append(b, "gitlaunch: "+c.note()...), '\n')
}

// getCut reads the run's cut through stmt (cutGet or cutRead).
func getCut(ctx context.Context, stmt *sql.Stmt, runID string) (logCut, bool, error) {
	var c logCut
	err := stmt.QueryRowContext(ctx, runID).Scan(&c.headEnd, &c.cutEnd, &c.lines, &c.midLine)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	return c, err == nil, err
}

// headSnap is how far before the head's limit the head may end instead,
// so that it ends with a whole line.
const headSnap = 4 << 10

// headEnd is where the head ends when p, appended at end, crosses head.
func headEnd(end int64, p []byte, head int64) int64 {
	room := head - end
	if room <= 0 {
		return end
	}
	room = min(room, int64(len(p)))
	if i := bytes.LastIndexByte(p[:room], '\n'); i >= 0 && int64(i) >= room-headSnap {
		return end + int64(i) + 1
	}
	return end + room
}

// chunkWriter inserts a log's chunks in one transaction.
type chunkWriter struct {
	ctx      context.Context
	insert   *sql.Stmt
	runID    string
	seq, end int64
}

func (w *chunkWriter) write(p []byte) error {
	for len(p) > 0 {
		n := min(len(p), MaxChunk)
		w.seq++
		if _, err := w.insert.ExecContext(w.ctx, w.runID, w.seq, w.end, p[:n]); err != nil {
			return err
		}
		w.end += int64(n)
		p = p[n:]
	}
	return nil
}

// appendCapped appends p through w under the limit (the caller prepared
// the cut statements: preparing needs the writer's one connection): it starts the cut
// when p crosses the head, then drops the oldest tail chunks while the
// tail stays at least three quarters of the limit without them.
func (s *Store) appendCapped(ctx context.Context, tx *sql.Tx, w *chunkWriter, p []byte, limit int64) error {
	head := limit / 4
	tail := limit - head
	cut, capped, err := getCut(ctx, tx.StmtContext(ctx, s.logs.cutGet), w.runID)
	if err != nil {
		return err
	}
	dirty := false
	if !capped && w.end+int64(len(p)) > head {
		he := headEnd(w.end, p, head)
		n := he - w.end
		if err := w.write(p[:n]); err != nil {
			return err
		}
		cut = logCut{headEnd: he, cutEnd: he}
		if n > 0 {
			cut.midLine = p[n-1] != '\n'
		} else if he > 0 {
			var last []byte
			if err := tx.QueryRowContext(ctx, `SELECT substr(data, -1) FROM log_chunks WHERE run_id = ? ORDER BY off DESC LIMIT 1`,
				w.runID).Scan(&last); err != nil {
				return err
			}
			cut.midLine = !bytes.Equal(last, []byte{'\n'})
		}
		capped, dirty = true, true
		p = p[n:]
	}
	if err := w.write(p); err != nil {
		return err
	}
	if !capped {
		return nil
	}
	first, del := tx.StmtContext(ctx, s.logs.tailFirst), tx.StmtContext(ctx, s.logs.chunkDel)
	for {
		var off, n int64
		err := first.QueryRowContext(ctx, w.runID, cut.cutEnd).Scan(&off, &n)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return err
		}
		if w.end-(off+n) < tail {
			break
		}
		lines, err := deleteChunk(ctx, del, w.runID, off)
		if err != nil {
			return err
		}
		cut.cutEnd, cut.lines, dirty = off+n, cut.lines+lines, true
	}
	if !dirty {
		return nil
	}
	_, err = tx.StmtContext(ctx, s.logs.cutPut).ExecContext(ctx, w.runID, cut.headEnd, cut.cutEnd, cut.lines, cut.midLine)
	return err
}

// deleteChunk deletes the chunk at off through del (chunkDel) and returns
// how many newlines it held, reading the returned data in place.
func deleteChunk(ctx context.Context, del *sql.Stmt, runID string, off int64) (int64, error) {
	rows, err := del.QueryContext(ctx, runID, off)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("log chunk at %d of %s: %w", off, runID, sql.ErrNoRows)
	}
	var data sql.RawBytes // valid until the next Next or Close
	if err := rows.Scan(&data); err != nil {
		return 0, err
	}
	n := int64(bytes.Count(data, []byte{'\n'}))
	return n, rows.Close()
}
