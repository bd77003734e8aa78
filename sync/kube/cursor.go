package kube

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A container log is read with Timestamps: every line starts with its
// RFC3339Nano time and a space (the kubelet writes one prefix per line,
// also for lines the runtime stored in parts). After a disconnect the log
// is asked for again from the last time seen (SinceTime, which the API
// rounds down to the second), and logFilter drops what was delivered
// before, so that no line is lost or repeated.
//
// The position is a logCursor: every line stamped before TS was
// delivered; of the lines stamped exactly TS, the first N were delivered
// whole and Partial bytes of the next one (a line cut by a disconnect).
// Lines keep the order of their time stamps, as the runtime writes them.

// logCursor is a position in a container log.
type logCursor struct {
	TS      time.Time
	N       int
	Partial int
}

// String encodes the cursor for the Pod annotation: "<RFC3339Nano> N P".
func (c logCursor) String() string {
	if c.TS.IsZero() {
		return ""
	}
	return fmt.Sprintf("%s %d %d", c.TS.UTC().Format(time.RFC3339Nano), c.N, c.Partial)
}

// parseCursor reads String's form; "" is the start of the log.
func parseCursor(s string) (logCursor, error) {
	if s == "" {
		return logCursor{}, nil
	}
	f := strings.Fields(s)
	if len(f) != 3 {
		return logCursor{}, fmt.Errorf("log cursor %q: want <time> <lines> <bytes>", s)
	}
	ts, err := time.Parse(time.RFC3339Nano, f[0])
	if err != nil {
		return logCursor{}, fmt.Errorf("log cursor %q: %w", s, err)
	}
	n, err1 := strconv.Atoi(f[1])
	p, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || n < 0 || p < 0 {
		return logCursor{}, fmt.Errorf("log cursor %q: bad counts", s)
	}
	return logCursor{TS: ts, N: n, Partial: p}, nil
}

// maxStamp bounds the time stamp prefix; a longer first word is not one.
const maxStamp = 64

// logFilter turns the bytes of timestamped log streams into the log's
// text, each byte once across reconnects. Call reset before each stream.
type logFilter struct {
	cur logCursor

	// Per stream:
	inLine  bool      // past the current line's first word
	stamp   []byte    // the first word read so far (!inLine)
	stamped bool      // the current line has a time stamp
	drop    bool      // the current line was delivered before
	counted bool      // the current line moves the cursor
	skip    int       // content bytes of the current line delivered before
	kTS     time.Time // time stamp of the latest line in this stream
	k       int       // lines stamped kTS before the current one
}

// reset starts a new stream; the cursor stays.
func (f *logFilter) reset() {
	cur := f.cur
	*f = logFilter{cur: cur, stamp: f.stamp[:0]}
}

// write filters p, the next piece of the stream, and appends what is new
// to out.
func (f *logFilter) write(out, p []byte) []byte {
	for len(p) > 0 {
		if !f.inLine {
			i := bytes.IndexAny(p, " \n")
			if i < 0 {
				f.stamp = append(f.stamp, p...)
				if len(f.stamp) > maxStamp {
					out = f.plain(out)
				}
				return out
			}
			f.stamp = append(f.stamp, p[:i]...)
			sep := p[i]
			p = p[i+1:]
			if sep == '\n' {
				// A line of one word: not from the kubelet, kept as is.
				out = append(append(out, f.stamp...), '\n')
				f.stamp = f.stamp[:0]
				continue
			}
			ts, err := time.Parse(time.RFC3339Nano, string(f.stamp))
			if err != nil {
				out = append(f.plain(out), ' ')
				continue
			}
			f.stamp = f.stamp[:0]
			f.begin(ts)
			continue
		}
		j := bytes.IndexByte(p, '\n')
		chunk := p
		if j >= 0 {
			chunk = p[:j]
		}
		out = f.content(out, chunk)
		if j < 0 {
			return out
		}
		if !f.drop {
			out = append(out, '\n')
		}
		f.end()
		p = p[j+1:]
	}
	return out
}

// plain delivers the first word read so far as content of a line without
// a time stamp, which does not move the cursor.
func (f *logFilter) plain(out []byte) []byte {
	out = append(out, f.stamp...)
	f.stamp = f.stamp[:0]
	f.inLine, f.stamped, f.drop, f.counted, f.skip = true, false, false, false, 0
	return out
}

// begin decides about a line stamped ts.
func (f *logFilter) begin(ts time.Time) {
	f.inLine, f.stamped, f.drop, f.counted, f.skip = true, true, false, false, 0
	if !ts.Equal(f.kTS) {
		f.kTS, f.k = ts, 0
	}
	switch {
	case ts.Before(f.cur.TS):
		f.drop = true
	case ts.After(f.cur.TS):
		f.cur = logCursor{TS: ts}
		f.counted = true
	case f.k < f.cur.N:
		f.drop = true
	case f.k == f.cur.N:
		f.counted, f.skip = true, f.cur.Partial
	default:
		// More lines at this stamp than the cursor knows of cannot
		// follow a delivered one; deliver them.
		f.counted = true
		f.cur.N, f.cur.Partial = f.k, 0
	}
}

func (f *logFilter) content(out, chunk []byte) []byte {
	if f.drop {
		return out
	}
	if f.skip > 0 {
		n := min(f.skip, len(chunk))
		chunk, f.skip = chunk[n:], f.skip-n
	}
	if f.counted {
		f.cur.Partial += len(chunk)
	}
	return append(out, chunk...)
}

// end finishes the current line at its newline.
func (f *logFilter) end() {
	if f.counted {
		f.cur.N++
		f.cur.Partial = 0
	}
	if f.stamped {
		f.k++
	}
	f.inLine, f.stamped, f.drop, f.counted, f.skip = false, false, false, false, 0
}
