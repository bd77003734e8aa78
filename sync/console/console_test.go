package console_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/console"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// TestReportNeutralisesControlSequences reproduces issue 9 finding 10 for
// the console: a ref, a reason, a metric name and a problem carrying a
// title escape (OSC 0), a clipboard write (OSC 52), a screen clear and a
// bidi override reach the terminal only as visible text.
func TestReportNeutralisesControlSequences(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	r := &engine.Run{ID: "abc", Repo: "models", JobName: "train\x1b[2J", SHA: "0123456789", Trigger: engine.TriggerPush,
		Ref: "refs/heads/\x1b]0;pwned\x07", Branch: "\x1b]0;pwned\x07", State: engine.StateFailed,
		Reason: "exit 1 \x1b]52;c;cHduZWQ=\x1b\\ \u202egnp.exe", Metrics: map[string]float64{"loss\u202e\x1b[31m": 1},
		Problems:  []schema.Problem{{File: "a/job.yaml", Line: 1, Message: "bad \x1b[1A\x1b[K"}},
		StartedAt: now.Add(-time.Second), FinishedAt: now}
	var b bytes.Buffer
	rep := console.New(&b)
	rep.Now = func() time.Time { return now }
	if err := rep.Report(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x07\u202e") {
		t.Errorf("raw control characters reach the terminal: %q", out)
	}
	for _, want := range []string{`push \x1b]0;pwned\x07`, `train\x1b[2J`, `\x1b]52;c;cHduZWQ=\x1b\`, `\u202egnp.exe`, `loss\u202e\x1b[31m=1`, `bad \x1b[1A\x1b[K`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	if strings.Count(out, "\n") != 2 {
		t.Errorf("want the run line and one problem line:\n%s", out)
	}
}
