package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
)

// BenchmarkPushToFirstLine measures a push reaching the job's first output
// line in the store: poll (ref advertisement + fetch), plan, dispatch,
// checkout, start, and the first log chunk. The git push itself is not
// timed.
func BenchmarkPushToFirstLine(b *testing.B) {
	remote := gittest.NewRemote(b)
	remote.Commit(b, "main", map[string]string{"a/job.yaml": job("a", "echo first-line; sleep 0.2", "")}, "first")
	h := newHarness(b, remote, "", harnessOpts{maxRuns: 64})
	h.wait(h.poll()...)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		remote.Commit(b, "main", map[string]string{"a/n": fmt.Sprint(i)}, "change")
		b.StartTimer()
		start := time.Now()
		runs := h.poll()
		if len(runs) != 1 {
			b.Fatalf("planned %d runs", len(runs))
		}
		if err := h.eng.Dispatch(ctx); err != nil {
			b.Fatal(err)
		}
		for {
			n, err := h.store.LogSize(ctx, runs[0].ID)
			if err != nil {
				b.Fatal(err)
			}
			if n > 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "ms/first-line")
		b.StopTimer()
		h.wait(runs...)
		b.StartTimer()
	}
}
