package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

func readAll(t testing.TB, s *Store, runID string, off int64) string {
	t.Helper()
	rc, err := s.OpenLog(context.Background(), runID, off)
	if err != nil {
		t.Fatalf("OpenLog(%s, %d): %v", runID, off, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read log %s from %d: %v", runID, off, err)
	}
	return string(b)
}

func TestLogAppendAndReadFromOffsets(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	r := newRun("demo", "a/job.yaml", sha1, t0)
	mustCreate(t, s, r)

	rng := rand.New(rand.NewPCG(1, 2))
	var want bytes.Buffer
	var bounds []int64 // chunk boundaries as appended
	appendLog := func(p []byte) {
		t.Helper()
		if err := s.AppendLog(ctx, r.ID, p); err != nil {
			t.Fatal(err)
		}
		want.Write(p)
		bounds = append(bounds, int64(want.Len()))
	}
	for i := range 300 {
		line := fmt.Sprintf("step %d loss %.4f\n", i, rng.Float64())
		appendLog([]byte(strings.Repeat(line, 1+rng.IntN(50))))
	}
	big := make([]byte, 2*MaxChunk+12345) // split into three rows
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	appendLog(big)
	appendLog(nil) // no-op
	appendLog([]byte("done\n"))

	size, err := s.LogSize(ctx, r.ID)
	if err != nil || size != int64(want.Len()) {
		t.Fatalf("LogSize = %d, %v; want %d", size, err, want.Len())
	}
	var rows, biggest int64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*), max(length(data)) FROM log_chunks WHERE run_id = ?`, r.ID).Scan(&rows, &biggest); err != nil {
		t.Fatal(err)
	}
	if rows != 300+3+1 || biggest != MaxChunk {
		t.Errorf("%d chunks, largest %d bytes; want 304 chunks of at most %d", rows, biggest, MaxChunk)
	}

	full := want.Bytes()
	offsets := []int64{0, 1, bounds[0] - 1, bounds[0], bounds[0] + 1, bounds[150] + 7, bounds[299] + MaxChunk, bounds[299] + MaxChunk + 1, size - 1, size}
	for _, off := range offsets {
		if got := readAll(t, s, r.ID, off); got != string(full[off:]) {
			t.Errorf("read from %d: %d bytes, want %d (content differs)", off, len(got), len(full)-int(off))
		}
	}
	// Every read size, including 1 byte, through the standard reader checks.
	for _, off := range []int64{0, bounds[10] + 3} {
		rc, err := s.OpenLog(ctx, r.ID, off)
		if err != nil {
			t.Fatal(err)
		}
		if err := iotest.TestReader(rc, full[off:]); err != nil {
			t.Errorf("reader from %d: %v", off, err)
		}
		rc.Close()
	}

	for _, off := range []int64{-1, size + 1} {
		if _, err := s.OpenLog(ctx, r.ID, off); err == nil {
			t.Errorf("OpenLog at %d (size %d) succeeded", off, size)
		}
	}
}

func TestLogReaderFollowsGrowthAndCloses(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	r := newRun("demo", "a/job.yaml", sha1, t0)
	mustCreate(t, s, r)
	rc, err := s.OpenLog(ctx, r.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := rc.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("read of an empty log = %d, %v; want EOF", n, err)
	}
	if err := s.AppendLog(ctx, r.ID, []byte("hello ")); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendLog(ctx, r.ID, []byte("world")); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	if err != nil || string(b) != "hello world" {
		t.Fatalf("read after appends = %q, %v", b, err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Read(buf); err == nil {
		t.Error("read after Close succeeded")
	}
}

func TestConcurrentAppendsAndUpdates(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	const nRuns, nChunks = 8, 100
	runs := make([]*engine.Run, nRuns)
	for i := range runs {
		runs[i] = newRun("demo", fmt.Sprintf("job%d/job.yaml", i), sha1, t0)
		mustCreate(t, s, runs[i], "console")
	}
	line := func(run, seq int) string {
		return fmt.Sprintf("run %d line %d %s\n", run, seq, strings.Repeat("x", seq%97))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3*nRuns)
	for i, r := range runs {
		wg.Go(func() { // the executor's log pump for this run
			for j := range nChunks {
				if err := s.AppendLog(ctx, r.ID, []byte(line(i, j))); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() { // the dispatcher moving the run along
			cp := *r
			for j, st := range []engine.State{engine.StatePending, engine.StateRunning, engine.StateSucceeded} {
				cp.State, cp.QueuePos = st, j
				if err := s.UpdateRun(ctx, &cp, []string{"console"}); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() { // a dashboard reading along
			for range 20 {
				if _, err := s.LogSize(ctx, r.ID); err != nil {
					errs <- err
					return
				}
				if _, err := s.ListRuns(ctx, engine.RunFilter{Repo: "demo", Limit: 5}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, r := range runs {
		var want strings.Builder
		for j := range nChunks {
			want.WriteString(line(i, j))
		}
		if got := readAll(t, s, r.ID, 0); got != want.String() {
			t.Errorf("run %d: log differs (%d bytes, want %d)", i, len(got), want.Len())
		}
		ts, err := s.Transitions(ctx, r.ID)
		if err != nil || len(ts) != 4 {
			t.Errorf("run %d: transitions %+v, %v", i, ts, err)
		}
	}
	due, err := s.DueReports(ctx, time.Now(), 0)
	if err != nil || len(due) != 4*nRuns {
		t.Errorf("%d reports due (%v), want %d", len(due), err, 4*nRuns)
	}
}

func TestFollowLog(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	r := newRun("demo", "a/job.yaml", sha1, t0)
	mustCreate(t, s, r)
	if err := s.AppendLog(ctx, r.ID, []byte("before\n")); err != nil {
		t.Fatal(err)
	}

	var want strings.Builder
	want.WriteString("before\n")
	for i := range 20 {
		fmt.Fprintf(&want, "line %d\n", i)
	}
	writerDone := make(chan error, 1)
	go func() { // the executor: output, then the terminal state
		cp := *r
		for i := range 20 {
			if err := s.AppendLog(ctx, r.ID, fmt.Appendf(nil, "line %d\n", i)); err != nil {
				writerDone <- err
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		cp.State = engine.StateSucceeded
		writerDone <- s.UpdateRun(ctx, &cp, nil)
	}()

	var got bytes.Buffer
	end, err := s.FollowLog(ctx, r.ID, 0, &got, 5*time.Millisecond)
	if werr := <-writerDone; werr != nil {
		t.Fatal(werr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() || end != int64(want.Len()) {
		t.Errorf("FollowLog wrote %q, ended at %d; want %q, %d", got.String(), end, want.String(), want.Len())
	}

	// Resuming from the end of a finished run returns at once.
	got.Reset()
	if end2, err := s.FollowLog(ctx, r.ID, end, &got, time.Hour); err != nil || end2 != end || got.Len() != 0 {
		t.Errorf("resume = %d, %v, %q", end2, err, got.String())
	}
}

func TestFollowLogStopsWithContext(t *testing.T) {
	s := openTest(t)
	r := newRun("demo", "a/job.yaml", sha1, t0)
	mustCreate(t, s, r)
	if err := s.AppendLog(context.Background(), r.ID, []byte("still running\n")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var got bytes.Buffer
	end, err := s.FollowLog(ctx, r.ID, 0, &got, 5*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || end != 14 || got.String() != "still running\n" {
		t.Errorf("FollowLog = %d, %v, %q", end, err, got.String())
	}
}

// failWriter fails after accepting n bytes.
type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestFollowLogReportsWriteErrors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	r := newRun("demo", "a/job.yaml", sha1, t0)
	mustCreate(t, s, r)
	if err := s.AppendLog(ctx, r.ID, []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	end, err := s.FollowLog(ctx, r.ID, 0, &failWriter{n: 4}, time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "disk full") || end != 4 {
		t.Errorf("FollowLog = %d, %v; want 4 and the write error", end, err)
	}
}
