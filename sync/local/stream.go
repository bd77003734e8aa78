package local

import (
	"bytes"
	"context"
	"errors"
	"github.com/gitlaunch/gitlaunch/sync/results"
	"io"
	"os"
	"time"
)

const (
	// maxChunk is the most one sink.Log call carries.
	maxChunk = 64 << 10
	// flushBurst flushes that may follow each other at once (the first
	// lines of a run reach the sink without delay); after that, one per
	// FlushInterval.
	flushBurst = 4
)

// streamer reads output.log from the start (or from its scan checkpoint):
// every byte goes to the metric patterns, and the bytes past what the sink
// already accepted (persisted in the delivered file, so a restart does not
// repeat them) go to the sink in chunks. Output waits at most
// FlushInterval and at most maxChunk bytes.
//
// Once the sink has the output it is in the store, and output.log need not
// keep it: every punchEvery bytes the streamer saves a scan checkpoint
// (the metrics found up to a line end) and frees the disk blocks before it
// (punchHole). The file keeps its size and offsets, the job appends on,
// and a restarted executor resumes the scan at the checkpoint.
type streamer struct {
	f     *follower
	file  *os.File // nil when the log could not be opened
	scan  *results.Scanner
	buf   []byte
	read  int64 // bytes of the file read so far
	sent  int64 // bytes the sink accepted
	queue []byte
	timer *time.Timer // fires when the queue may be flushed

	// lineEnd is the offset after the last line end the scanner was fed;
	// punched is the offset up to which blocks were freed.
	lineEnd, punched int64
	noPunch          bool // the file system cannot punch holes

	tokens float64
	refill time.Time
}

const (
	// punchEvery is how much delivered output accumulates before its disk
	// blocks are freed.
	punchEvery = 1 << 20
	// punchAlign keeps holes to whole file system blocks.
	punchAlign = 4096
)

func newStreamer(f *follower, file *os.File) *streamer {
	var patterns map[string]string
	if f.results.Metrics != nil {
		patterns = f.results.Metrics.Patterns
	}
	scan, notes := results.NewScanner(patterns)
	f.note(notes...)
	t := time.NewTimer(time.Hour)
	t.Stop()
	s := &streamer{
		f: f, file: file, scan: scan, buf: make([]byte, maxChunk),
		sent: f.d.readDelivered(), timer: t, tokens: flushBurst, refill: time.Now(),
	}
	if c, ok := f.d.readScanned(); ok && file != nil && c.Offset <= s.sent {
		if _, err := file.Seek(c.Offset, io.SeekStart); err == nil {
			scan.Resume(c.Metrics)
			s.read, s.lineEnd, s.punched = c.Offset, c.Offset, c.Offset&^(punchAlign-1)
		}
	}
	return s
}

func (s *streamer) close() {
	s.timer.Stop()
	if s.file != nil {
		s.file.Close()
	}
}

// pump reads what the file has and passes it on. With final set it reads
// to the end and flushes everything, retrying a failing sink a few times.
func (s *streamer) pump(ctx context.Context, final bool) {
	for s.file != nil && (final || len(s.queue) < maxChunk) {
		n, err := s.file.Read(s.buf)
		if n > 0 {
			s.take(s.buf[:n])
		}
		if err != nil || n == 0 {
			if err != nil && !errors.Is(err, io.EOF) {
				s.f.log.Warn("read run log", "err", err)
			}
			break
		}
	}
	if !final {
		if s.flush(ctx, false) == nil {
			s.release(false)
		}
		return
	}
	if len(s.queue) == 0 {
		s.release(true)
	}
	for try := 0; len(s.queue) > 0; try++ {
		if s.flush(ctx, true) == nil {
			s.release(true)
			return
		}
		if try == 3 || ctx.Err() != nil {
			s.f.log.Error("the sink did not take the end of the run log", "bytes", len(s.queue))
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.f.e.opts.FlushInterval):
		}
	}
}

func (s *streamer) take(p []byte) {
	s.scan.Write(p)
	start := s.read
	s.read += int64(len(p))
	if i := bytes.LastIndexAny(p, "\n\r"); i >= 0 {
		s.lineEnd = start + int64(i) + 1
	}
	if s.read <= s.sent {
		return // delivered before a restart
	}
	if start < s.sent {
		p = p[s.sent-start:]
	}
	s.queue = append(s.queue, p...)
}

// flush hands queued output to the sink when a flush is due: a full chunk,
// or a free token from the bucket. Otherwise it arms the timer for when the
// next token comes, which is at most FlushInterval away.
func (s *streamer) flush(ctx context.Context, force bool) error {
	every := s.f.e.opts.FlushInterval
	for len(s.queue) > 0 {
		now := time.Now()
		s.tokens = min(flushBurst, s.tokens+float64(now.Sub(s.refill))/float64(every))
		s.refill = now
		if !force && len(s.queue) < maxChunk && s.tokens < 1 {
			s.timer.Reset(time.Duration((1 - s.tokens) * float64(every)))
			return nil
		}
		n := min(len(s.queue), maxChunk)
		if err := s.f.sink.Log(ctx, s.f.id, append([]byte(nil), s.queue[:n]...)); err != nil {
			s.f.log.Warn("sink log", "err", err)
			s.timer.Reset(every) // try again then
			return err
		}
		s.tokens = max(0, s.tokens-1)
		s.sent += int64(n)
		s.queue = append(s.queue[:0], s.queue[n:]...)
		if err := s.f.d.writeDelivered(s.sent); err != nil {
			s.f.log.Warn("record delivered log", "err", err)
		}
	}
	return nil
}

// release frees the disk blocks of delivered output once punchEvery more
// bytes of it can go (all: whatever can go, at the run's end). The scan
// checkpoint is saved first, at a line end the sink has, so that a restart
// never needs the freed bytes.
func (s *streamer) release(all bool) {
	if s.file == nil || s.noPunch || s.lineEnd > s.sent {
		return
	}
	end := s.lineEnd &^ (punchAlign - 1)
	if end <= s.punched || (!all && end-s.punched < punchEvery) {
		return
	}
	if err := s.f.d.writeScanned(scanCheckpoint{Offset: s.lineEnd, Metrics: s.scan.Seen()}); err != nil {
		s.f.log.Warn("save the scan checkpoint; the run's output file keeps its size", "err", err)
		return
	}
	if err := punchHole(s.file, s.punched, end-s.punched); err != nil {
		s.noPunch = true
		s.f.log.Warn("cannot free the disk blocks of delivered output; the run's output file keeps its size", "err", err)
		return
	}
	s.punched = end
}
