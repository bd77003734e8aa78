package github

import (
	"context"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/gitlaunch/gitlaunch/sync/redact"
)

// tailSlack is read beyond the tail's byte budget so that the first line
// kept is whole and a secret at the cut is seen, and hidden, whole.
const tailSlack = 4096

// logTail returns the last lines of a run's log, at most maxLines lines and
// about maxBytes bytes, redacted before anything is cut.
func logTail(ctx context.Context, st RunStore, runID string, maxLines, maxBytes int, red *redact.Redactor) (string, int, error) {
	size, err := st.LogSize(ctx, runID)
	if err != nil {
		return "", 0, fmt.Errorf("log size of %s: %w", runID, err)
	}
	if size == 0 {
		return "", 0, nil
	}
	off := max(size-int64(maxBytes+tailSlack), 0)
	rc, err := st.OpenLog(ctx, runID, off)
	if err != nil {
		return "", 0, fmt.Errorf("log of %s: %w", runID, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(maxBytes+tailSlack)))
	if err != nil {
		return "", 0, fmt.Errorf("log of %s: %w", runID, err)
	}
	text := red.String(strings.ToValidUTF8(string(b), "\uFFFD"))
	if off > 0 {
		// Drop the partial first line: it may hold the end of a secret whose
		// start was not read.
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i+1:]
		} else {
			// One endless line (progress bars): drop the slack instead.
			cut := min(tailSlack, len(text))
			for cut < len(text) && !utf8.RuneStart(text[cut]) {
				cut++
			}
			text = text[cut:]
		}
	}
	text = strings.TrimRight(text, "\n")
	if text == "" {
		return "", 0, nil
	}
	lines := strings.Split(text, "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	for len(lines) > 1 && joinedLen(lines) > maxBytes {
		lines = lines[1:]
	}
	if len(lines) == 1 && len(lines[0]) > maxBytes {
		l := lines[0]
		cut := len(l) - maxBytes
		for cut < len(l) && !utf8.RuneStart(l[cut]) {
			cut++
		}
		lines[0] = "…" + l[cut:]
	}
	return strings.Join(lines, "\n") + "\n", len(lines), nil
}

func joinedLen(lines []string) int {
	n := len(lines) - 1
	for _, l := range lines {
		n += len(l)
	}
	return n
}
