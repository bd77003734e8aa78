package local

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkStartToFirstLine measures a run from Start (clone by the fake
// checkouter, launch, isolation setup) until the job's first output line
// reaches the sink.
func BenchmarkStartToFirstLine(b *testing.B) {
	for _, mode := range allModes {
		b.Run(mode, func(b *testing.B) {
			e := newTestExecutor(b, mode, b.TempDir(), func(o *Options) { o.Logger = slog.New(slog.DiscardHandler) })
			for b.Loop() {
				l := testLaunch(b, "echo ready")
				sink := newRecSink()
				first := make(chan struct{})
				sink.onLog = func(p []byte) {
					if bytes.Contains(p, []byte("ready\n")) {
						close(first)
					}
				}
				if err := e.Start(context.Background(), l, sink); err != nil {
					b.Fatal(err)
				}
				select {
				case <-first:
				case <-time.After(30 * time.Second):
					b.Fatal("no first line")
				}
				b.StopTimer()
				<-sink.done
				b.StartTimer()
			}
		})
	}
}
