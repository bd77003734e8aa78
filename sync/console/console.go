// Package console is the reporter for a terminal: one readable line per
// state change of a run. Every text that comes from a repository, a
// remote or a job (names, refs, reasons, metric names, problems) passes
// through termsafe.Line: no escape sequence or bidi control in it reaches
// the terminal.
package console

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/termsafe"
)

// Reporter writes runs' state changes to W.
type Reporter struct {
	W   io.Writer
	Now func() time.Time

	mu sync.Mutex
}

var _ engine.EveryStateReporter = (*Reporter)(nil)

// New returns a reporter writing to w.
func New(w io.Writer) *Reporter { return &Reporter{W: w, Now: time.Now} }

// Name implements engine.Reporter.
func (*Reporter) Name() string { return "console" }

// EveryState makes the reporter an engine.EveryStateReporter: it is told
// every state change, also those a run has already left, because a console
// is a log of what happened.
func (*Reporter) EveryState() bool { return true }

// Report implements engine.Reporter.
func (c *Reporter) Report(_ context.Context, r *engine.Run) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := fmt.Fprintln(c.W, Line(r, c.Now()))
	return err
}

// Line formats a run in one line, e.g.
//
//	15:04:05 demo/hello 1a2b3c4d push main   succeeded  3.2s  last_loss=0.1 steps=3  [run abcdefgh]
func Line(r *engine.Run, now time.Time) string {
	var b strings.Builder
	safe := termsafe.Line
	fmt.Fprintf(&b, "%s %s/%s %s %s", now.Format("15:04:05"), safe(r.Repo), safe(r.JobName), safe(engine.ShortSHA(r.SHA)), Where(r))
	fmt.Fprintf(&b, "  %s", strings.ToUpper(string(r.State)))
	if d := r.Duration(now); d > 0 && r.State.Terminal() {
		fmt.Fprintf(&b, " %s", d.Round(100*time.Millisecond))
	}
	if r.Reason != "" && r.State != engine.StateSucceeded {
		fmt.Fprintf(&b, "  %s", safe(r.Reason))
	}
	if len(r.Metrics) > 0 {
		b.WriteString("  ")
		b.WriteString(Metrics(r.Metrics))
	}
	fmt.Fprintf(&b, "  [run %s]", safe(r.ID))
	for _, p := range r.Problems {
		b.WriteString("\n    ")
		b.WriteString(safe(p.String()))
	}
	return b.String()
}

// Where says what the run is for: "push main", "PR #7", "schedule main",
// safe for a terminal.
func Where(r *engine.Run) string {
	trigger := termsafe.Line(string(r.Trigger))
	switch {
	case r.PR > 0:
		return fmt.Sprintf("%s PR #%d", trigger, r.PR)
	case r.Branch != "":
		return trigger + " " + termsafe.Line(r.Branch)
	default:
		return trigger + " " + termsafe.Line(r.Ref)
	}
}

// Metrics formats metrics as name=value pairs sorted by name, the names
// safe for a terminal.
func Metrics(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%g", termsafe.Line(k), m[k])
	}
	return strings.Join(parts, " ")
}
