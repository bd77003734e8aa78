package render

import (
	"strings"
	"time"
	"unicode/utf8"
)

// StatusLimit is the longest commit status description GitHub accepts.
const StatusLimit = 140

// StatusData is what a commit status description says about one run.
type StatusData struct {
	State    string // a sync.State value
	Reason   string
	Duration time.Duration
	// Headline is the run's headline metric, when it has one.
	Headline *Metric
}

// StatusDescription is a one-line description of a run for a commit
// status, at most StatusLimit characters: the state, the duration, the
// headline metric and, for runs that did not succeed, the reason.
func StatusDescription(d StatusData) string {
	var b strings.Builder
	dur := ""
	if d.Duration > 0 {
		dur = FormatDuration(d.Duration)
	}
	switch d.State {
	case "succeeded":
		b.WriteString("succeeded")
		if dur != "" {
			b.WriteString(" in " + dur)
		}
	case "failed", "timed_out", "error", "cancelled":
		b.WriteString(strings.ReplaceAll(d.State, "_", " "))
		if dur != "" {
			b.WriteString(" after " + dur)
		}
		if d.Reason != "" {
			b.WriteString(": " + d.Reason)
		}
	case "running":
		b.WriteString("running")
		if dur != "" {
			b.WriteString(" for " + dur)
		}
	case "invalid":
		b.WriteString("invalid manifest")
		if d.Reason != "" {
			b.WriteString(": " + d.Reason)
		}
	case "waiting":
		b.WriteString("waiting for a collaborator's /gitlaunch ok-to-test")
	default: // queued, pending
		switch {
		case strings.HasPrefix(d.Reason, d.State):
			b.WriteString(d.Reason) // "queued: position 1 of 2"
		case d.Reason != "":
			b.WriteString(d.State + ": " + d.Reason)
		default:
			b.WriteString(d.State)
		}
	}
	s := oneLine(b.String())
	if h := d.Headline; h != nil {
		m := " · " + oneLine(h.Name) + " " + FormatNumber(h.Value)
		if h.HasBase {
			m += " (" + Change(h.Value, h.Base) + ")"
		}
		// The metric matters more than the end of a long reason.
		if utf8.RuneCountInString(s)+utf8.RuneCountInString(m) > StatusLimit {
			s = TruncateRunes(s, max(StatusLimit-utf8.RuneCountInString(m), 20))
		}
		s += m
	}
	return TruncateRunes(s, StatusLimit)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(StripControl(s)), " ")
}

// TruncateRunes shortens s to at most n runes, ending with "…" when cut.
func TruncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	i, count := 0, 0
	for i < len(s) && count < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	return s[:i] + "…"
}
