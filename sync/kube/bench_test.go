package kube

import (
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// Benchmarks against the real API server. Their Pods name a scheduler
// that does not exist, so they stay unbound: what is measured is the
// executor, the client and the API server (with etcd), not kube-scheduler
// or kwok working through a thousand Pods on the same two cores.

const benchScheduler = "gitlaunch-bench-none"

// seenAt records when the informer first delivered each Pod.
type seenAt struct {
	mu   sync.Mutex
	at   map[string]time.Time
	want int
	all  chan struct{}
}

func watchAdds(tb testing.TB, e *Executor, want int) *seenAt {
	s := &seenAt{at: map[string]time.Time{}, want: want, all: make(chan struct{})}
	reg, err := e.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		now := time.Now()
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, dup := s.at[p.Name]; !dup {
			s.at[p.Name] = now
			if len(s.at) == s.want {
				close(s.all)
			}
		}
	}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = e.pods.RemoveEventHandler(reg) })
	return s
}

func (s *seenAt) get(name string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[name]
	return t, ok
}

func benchLaunches(h *harness, n int) []engine.Launch {
	out := make([]engine.Launch, n)
	for i := range out {
		out[i] = h.launch(defaultJob, nil)
		out[i].Pod.Spec.SchedulerName = benchScheduler
	}
	return out
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p * float64(len(s)-1))
	return s[i]
}

// BenchmarkStartToInformer measures, one run at a time, Start (the Pod
// create round trip) and Start called → Pod delivered by the informer.
// QPS is raised to 1000 so that the client's rate limiter does not add
// waits of its own (at the default 20 QPS a steady stream of starts would
// measure the limiter).
func BenchmarkStartToInformer(b *testing.B) {
	h := setup(b, func(o *Options) { o.QPS, o.Burst = 1000, 2000 })
	launches := benchLaunches(h, b.N)
	seen := watchAdds(b, h.exec, b.N)
	starts := make([]time.Duration, 0, b.N)
	visible := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for _, l := range launches {
		began := time.Now()
		if err := h.exec.Start(h.ctx, l, h.sink); err != nil {
			b.Fatal(err)
		}
		starts = append(starts, time.Since(began))
		for {
			if at, ok := seen.get(l.Pod.Name); ok {
				visible = append(visible, at.Sub(began))
				break
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(starts, 0.5).Microseconds())/1000, "start-p50-ms")
	b.ReportMetric(float64(percentile(starts, 0.99).Microseconds())/1000, "start-p99-ms")
	b.ReportMetric(float64(percentile(visible, 0.5).Microseconds())/1000, "visible-p50-ms")
	b.ReportMetric(float64(percentile(visible, 0.99).Microseconds())/1000, "visible-p99-ms")
}

// BenchmarkBurst1000 starts 1,000 runs as fast as the caller can and
// reports how long until every Pod was created (Start returned) and seen
// by the informer. "serial" calls Start one after another, as the engine's
// dispatcher does; "parallel16" from 16 goroutines. Set
// GITLAUNCH_KUBE_BENCH=1 to run it (a minute or more on a busy machine).
func BenchmarkBurst1000(b *testing.B) {
	if os.Getenv("GITLAUNCH_KUBE_BENCH") != "1" {
		b.Skip("set GITLAUNCH_KUBE_BENCH=1 to start 1,000 Pods")
	}
	const n = 1000
	for _, c := range []struct {
		name       string
		qps        float32
		burst      int
		goroutines int
	}{
		{"default-qps/serial", DefaultQPS, DefaultBurst, 1},
		{"qps1000/serial", 1000, 2000, 1},
		{"qps1000/parallel16", 1000, 2000, 16},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				h := setup(b, func(o *Options) { o.QPS, o.Burst = c.qps, c.burst })
				launches := benchLaunches(h, n)
				seen := watchAdds(b, h.exec, n)
				work := make(chan engine.Launch, n)
				for _, l := range launches {
					work <- l
				}
				close(work)
				b.StartTimer()
				began := time.Now()
				var wg sync.WaitGroup
				errs := make(chan error, c.goroutines)
				for range c.goroutines {
					wg.Go(func() {
						for l := range work {
							if err := h.exec.Start(h.ctx, l, h.sink); err != nil {
								errs <- err
								return
							}
						}
					})
				}
				wg.Wait()
				created := time.Since(began)
				select {
				case err := <-errs:
					b.Fatal(err)
				default:
				}
				select {
				case <-seen.all:
				case <-time.After(2 * time.Minute):
					b.Fatalf("the informer saw %d of %d Pods", len(seen.at), n)
				}
				all := time.Since(began)
				b.StopTimer()
				b.ReportMetric(created.Seconds(), "s-created")
				b.ReportMetric(all.Seconds(), "s-all-visible")
				b.ReportMetric(n/created.Seconds(), "pods/s")
				b.Logf("%d Pods created in %s (%.0f/s), all in the informer after %s",
					n, created.Round(time.Millisecond), n/created.Seconds(), all.Round(time.Millisecond))
			}
		})
	}
}
