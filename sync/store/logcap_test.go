package store

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

var markerRE = regexp.MustCompile(`gitlaunch: … (\d+) bytes \((\d+) lines\) cut … \(the log passed its size limit, sync.logLimit: its start and its end are kept\)\n`)

// splitCut parses a capped log as read: head, the marker's numbers, tail.
// midLine: the head ends inside a line, so the marker starts with a newline.
func splitCut(t *testing.T, got string, midLine bool) (head string, n, lines int64, tail string) {
	t.Helper()
	locs := markerRE.FindAllStringSubmatchIndex(got, -1)
	if len(locs) != 1 {
		t.Fatalf("%d cut markers in the log, want 1:\n%.300s", len(locs), got)
	}
	m := locs[0]
	n, _ = strconv.ParseInt(got[m[2]:m[3]], 10, 64)
	lines, _ = strconv.ParseInt(got[m[4]:m[5]], 10, 64)
	head = got[:m[0]]
	if midLine {
		if !strings.HasSuffix(head, "\n") {
			t.Fatalf("the marker does not start a line of its own: %q", got[max(m[0]-20, 0):m[1]])
		}
		head = head[:len(head)-1]
	}
	return head, n, lines, got[m[1]:]
}

func storedBytes(t *testing.T, s *Store, runID string) int64 {
	t.Helper()
	var n int64
	if err := s.r.QueryRowContext(context.Background(), `SELECT coalesce(sum(length(data)), 0) FROM log_chunks WHERE run_id = ?`, runID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLogLimitKeepsHeadAndTail: a log 20 times over the limit keeps a head
// of whole lines, a tail of at least three quarters of the limit, and one
// marker line saying exactly how many bytes and lines went; offsets still
// count every byte written, from any offset.
func TestLogLimitKeepsHeadAndTail(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	const limit = 64 << 10
	s.SetLogLimit(limit)
	r := newRun("demo", "a/job.yaml", sha1, t0)
	mustCreate(t, s, r)

	rng := rand.New(rand.NewPCG(3, 4))
	var full bytes.Buffer
	i := 0
	for full.Len() < 20*limit {
		var p bytes.Buffer
		for range 1 + rng.IntN(300) {
			fmt.Fprintf(&p, "step %06d loss %.4f\n", i, rng.Float64())
			i++
		}
		if err := s.AppendLog(ctx, r.ID, p.Bytes()); err != nil {
			t.Fatal(err)
		}
		full.Write(p.Bytes())
		if stored := storedBytes(t, s, r.ID); stored > limit+MaxChunk {
			t.Fatalf("%d bytes stored after %d written; limit %d", stored, full.Len(), limit)
		}
	}
	all := full.String()
	size, err := s.LogSize(ctx, r.ID)
	if err != nil || size != int64(len(all)) {
		t.Fatalf("LogSize = %d, %v; want every byte written, %d", size, err, len(all))
	}

	got := readAll(t, s, r.ID, 0)
	head, n, lines, tail := splitCut(t, got, false)
	if !strings.HasPrefix(all, head) || !strings.HasSuffix(head, "\n") || len(head) > limit/4 || len(head) < limit/4-headSnap {
		t.Errorf("head: %d bytes, whole lines of the start? want about %d", len(head), limit/4)
	}
	if !strings.HasSuffix(all, tail) || len(tail) < limit-limit/4 {
		t.Errorf("tail: %d bytes, want the end, at least %d", len(tail), limit-limit/4)
	}
	if int64(len(head))+n+int64(len(tail)) != size {
		t.Errorf("head %d + cut %d + tail %d != %d written", len(head), n, len(tail), size)
	}
	if want := strings.Count(all[len(head):int64(len(head))+n], "\n"); lines != int64(want) {
		t.Errorf("marker says %d lines cut, %d were", lines, want)
	}
	if note, err := s.LogNote(ctx, r.ID); err != nil || !strings.Contains(got, "gitlaunch: "+note+"\n") {
		t.Errorf("LogNote = %q, %v; want the marker's words", note, err)
	}

	// From an offset in the head, in the cut, at its end and in the tail.
	he, ce := int64(len(head)), int64(len(head))+n
	for _, off := range []int64{5, he - 1, he, he + 1, ce - 1} {
		g := readAll(t, s, r.ID, off)
		h, n2, _, tl := splitCut(t, g, false)
		if want := all[min(off, he):he]; h != want || n2 != n || tl != tail {
			t.Errorf("read from %d: head %d bytes (want %d), cut %d, tail %d", off, len(h), len(want), n2, len(tl))
		}
	}
	for _, off := range []int64{ce, ce + 1, size - 3, size} {
		if g := readAll(t, s, r.ID, off); g != all[off:] {
			t.Errorf("read from %d in the tail: %d bytes, want %d", off, len(g), len(all[off:]))
		}
	}
	rc, err := s.OpenLog(ctx, r.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := iotest.TestReader(rc, []byte(got)); err != nil {
		t.Errorf("reader across the cut: %v", err)
	}

	// A follower resumes from the offset it returns: the log's end.
	var out bytes.Buffer
	r.State = "succeeded"
	mustUpdate(t, s, r, "succeeded", "", t0)
	off, err := s.FollowLog(ctx, r.ID, 0, &out, 0)
	if err != nil || off != size || out.String() != got {
		t.Errorf("FollowLog = %d, %v (%d bytes); want %d and the log as read", off, err, out.Len(), size)
	}
}

// TestLogLimitMidLineAndFollower: a log without newlines cuts mid-line, so
// the marker starts a line of its own; a reader that follows the log as it
// is written sees every byte, and one that lags behind sees the marker.
func TestLogLimitMidLineAndFollower(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	const limit = 64 << 10
	s.SetLogLimit(limit)
	r := newRun("demo", "a/job.yaml", sha1, t0)
	mustCreate(t, s, r)
	live, err := s.OpenLog(ctx, r.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	var seen, full bytes.Buffer
	chunk := bytes.Repeat([]byte("x"), 10_000)
	for range 40 {
		if err := s.AppendLog(ctx, r.ID, chunk); err != nil {
			t.Fatal(err)
		}
		full.Write(chunk)
		if _, err := live.(*logReader).WriteTo(&seen); err != nil {
			t.Fatal(err)
		}
	}
	if seen.String() != full.String() {
		t.Errorf("a live follower saw %d bytes, want all %d", seen.Len(), full.Len())
	}
	got := readAll(t, s, r.ID, 0)
	head, n, lines, tail := splitCut(t, got, true)
	if len(head) != limit/4 || lines != 0 || int64(len(head))+n+int64(len(tail)) != int64(full.Len()) {
		t.Errorf("head %d, cut %d bytes %d lines, tail %d", len(head), n, lines, len(tail))
	}
}

// TestLogLimitOff: without a limit nothing is cut.
func TestLogLimitOff(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	r := newRun("demo", "a/job.yaml", sha1, t0)
	mustCreate(t, s, r)
	p := bytes.Repeat([]byte("line\n"), 100_000)
	if err := s.AppendLog(ctx, r.ID, p); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, r.ID, 0); got != string(p) {
		t.Errorf("read %d bytes, want %d", len(got), len(p))
	}
	if note, err := s.LogNote(ctx, r.ID); note != "" || err != nil {
		t.Errorf("LogNote of a whole log = %q, %v", note, err)
	}
}
