package kube

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// stamped is one line of a container log as the runtime stored it.
type stamped struct {
	ts   time.Time
	text string // without the newline
}

// serve renders the log as the kubelet sends it with timestamps=true and
// sinceTime=since: lines stamped before since are left out; since is what
// the API server got, rounded down to the second as metav1.Time is. A
// last line with noEOL has no newline yet.
func serve(lines []stamped, since time.Time, noEOL bool) []byte {
	since = since.Truncate(time.Second)
	var b bytes.Buffer
	for i, l := range lines {
		if l.ts.Before(since) {
			continue
		}
		b.WriteString(l.ts.UTC().Format(time.RFC3339Nano))
		b.WriteByte(' ')
		b.WriteString(l.text)
		if !(noEOL && i == len(lines)-1) {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func text(lines []stamped, noEOL bool) string {
	var b strings.Builder
	for i, l := range lines {
		b.WriteString(l.text)
		if !(noEOL && i == len(lines)-1) {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// recorded is a log with the awkward cases: several lines with one stamp,
// stamps within one second (SinceTime cannot tell them apart), an empty
// line, a long line, spaces and a line that looks like a stamp.
func recorded() []stamped {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 100_000_000, time.UTC)
	return []stamped{
		{t0, "epoch 1 start"},
		{t0, "epoch 1 start"}, // the same text at the same stamp: two lines
		{t0, ""},
		{t0.Add(200 * time.Millisecond), "Accuracy: 97/100 (97.00%)"},
		{t0.Add(900 * time.Millisecond), "  indented  with  spaces "},
		{t0.Add(time.Second), "2026-11-28T12:00:01Z is not a stamp here"},
		{t0.Add(time.Second), strings.Repeat("long ", 300)},
		{t0.Add(3 * time.Second), "ü unicode ✓"},
		{t0.Add(3*time.Second + time.Nanosecond), "last"},
	}
}

// copyWithDisconnects reads the log through a logFilter, dropping the
// connection after each byte count in cuts and reconnecting from the
// filter's cursor, as logStream does; restart makes every reconnect a new
// process that only has the cursor's saved form.
func copyWithDisconnects(t testing.TB, lines []stamped, noEOL bool, cuts []int, restart bool) string {
	t.Helper()
	var f logFilter
	var out []byte
	for _, cut := range append(cuts, -1) {
		if restart {
			c, err := parseCursor(f.cur.String())
			if err != nil {
				t.Fatal(err)
			}
			f = logFilter{cur: c}
		}
		f.reset()
		stream := serve(lines, f.cur.TS, noEOL)
		if cut >= 0 && cut < len(stream) {
			stream = stream[:cut]
		}
		// Deliver in small pieces, as reads do.
		for len(stream) > 0 {
			n := min(len(stream), 7)
			out = f.write(out, stream[:n])
			stream = stream[n:]
		}
	}
	return string(out)
}

func TestLogFilterWithoutDisconnect(t *testing.T) {
	lines := recorded()
	if got, want := copyWithDisconnects(t, lines, false, nil, false), text(lines, false); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestLogFilterResumesAtEveryByte(t *testing.T) {
	lines := recorded()
	for _, noEOL := range []bool{false, true} {
		want := text(lines, noEOL)
		full := len(serve(lines, time.Time{}, noEOL))
		for cut := 0; cut <= full; cut++ {
			for _, restart := range []bool{false, true} {
				got := copyWithDisconnects(t, lines, noEOL, []int{cut}, restart)
				if got != want {
					t.Fatalf("cut at byte %d (noEOL %v, restart %v):\n got %q\nwant %q", cut, noEOL, restart, clip(got), clip(want))
				}
			}
		}
	}
}

func TestLogFilterManyDisconnects(t *testing.T) {
	lines := recorded()
	want := text(lines, false)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		cuts := make([]int, 1+r.IntN(8))
		for j := range cuts {
			cuts[j] = r.IntN(400)
		}
		if got := copyWithDisconnects(t, lines, false, cuts, i%2 == 0); got != want {
			t.Fatalf("cuts %v:\n got %q\nwant %q", cuts, clip(got), clip(want))
		}
	}
}

func TestLogFilterKeepsLinesWithoutStamps(t *testing.T) {
	var f logFilter
	got := string(f.write(nil, []byte("plain\nnot-a-stamp text\n2026-11-28T12:00:00Z ok\n")))
	if want := "plain\nnot-a-stamp text\nok\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	long := strings.Repeat("x", maxStamp+10) + " tail\n"
	f = logFilter{}
	if got := string(f.write(nil, []byte(long))); got != long {
		t.Errorf("a long first word: got %q", clip(got))
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := logCursor{TS: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), N: 2, Partial: 17}
	got, err := parseCursor(c.String())
	if err != nil || !got.TS.Equal(c.TS) || got.N != 2 || got.Partial != 17 {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if c, err := parseCursor(""); err != nil || !c.TS.IsZero() {
		t.Errorf("empty cursor: %+v, %v", c, err)
	}
	for _, bad := range []string{"x", "2026-01-02T03:04:05Z 1", "yesterday 1 2", "2026-01-02T03:04:05Z -1 0", "2026-01-02T03:04:05Z a b"} {
		if _, err := parseCursor(bad); err == nil {
			t.Errorf("parseCursor(%q) accepted", bad)
		}
	}
}

// FuzzLogFilter checks, for logs and disconnects the fuzzer makes up, that
// the text arrives whole and once.
func FuzzLogFilter(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc"), []byte{0, 1, 1, 5}, uint16(40))
	f.Add([]byte("one line only"), []byte{0, 0, 0}, uint16(3))
	f.Fuzz(func(t *testing.T, body []byte, gaps []byte, cut uint16) {
		if len(body) > 4096 || len(gaps) > 64 {
			return
		}
		t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
		var lines []stamped
		ts := t0
		for i, l := range bytes.Split(body, []byte("\n")) {
			if i < len(gaps) {
				// Steps of 0 (same stamp) to 255 × 10ms.
				ts = ts.Add(time.Duration(gaps[i]) * 10 * time.Millisecond)
			}
			lines = append(lines, stamped{ts, string(l)})
		}
		cuts := []int{int(cut), int(cut) / 2, int(cut) * 3}
		got := copyWithDisconnects(t, lines, true, cuts, cut%2 == 0)
		if want := text(lines, true); got != want {
			t.Fatalf("cuts %v:\n got %q\nwant %q", cuts, clip(got), clip(want))
		}
	})
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:150] + fmt.Sprintf("…(%d bytes)…", len(s)-300) + s[len(s)-150:]
	}
	return s
}
