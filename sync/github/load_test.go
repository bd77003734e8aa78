package github

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkWebhook measures one signed push delivery from request to
// queued work (signature check, parse, dedupe, enqueue), with the worker
// draining the queue.
func BenchmarkWebhook(b *testing.B) {
	eng := newRecordingEngine()
	h, err := NewWebhookHandler(WebhookOptions{Secret: []byte(hookSecret), Engine: eng, QueueSize: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	body := sample(b, "push.json")
	sig := sign(body, hookSecret)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d", i))
		req.Header.Set("X-Hub-Signature-256", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("answer %d %s", rec.Code, rec.Body)
		}
	}
}

// TestWebhookLoad sends 100 signed webhooks a second for 60 seconds to the
// handler over loopback HTTP and checks that none is dropped. It runs only
// with GITLAUNCH_WEBHOOK_LOAD=1 (GITLAUNCH_WEBHOOK_LOAD_SECONDS shortens
// it).
func TestWebhookLoad(t *testing.T) {
	if os.Getenv("GITLAUNCH_WEBHOOK_LOAD") != "1" {
		t.Skip("set GITLAUNCH_WEBHOOK_LOAD=1 to send 100 webhooks/s for 60 s")
	}
	seconds := 60
	if v := os.Getenv("GITLAUNCH_WEBHOOK_LOAD_SECONDS"); v != "" {
		fmt.Sscan(v, &seconds)
	}
	f := newHookFixture(t, WebhookOptions{}, true)
	bodies := map[string][]byte{"push": sample(t, "push.json"), "pull_request": sample(t, "pull_request_synchronize.json")}
	const rate = 100
	total := rate * seconds
	var (
		mu        sync.Mutex
		latencies []time.Duration
		bad       []string
		wg        sync.WaitGroup
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	start := time.Now()
	for i := range total {
		<-tick.C
		event := "push"
		if i%4 == 3 {
			event = "pull_request"
		}
		body := bodies[event]
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/webhook", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", event)
			req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("load-%d", i))
			req.Header.Set("X-Hub-Signature-256", sign(body, hookSecret))
			t0 := time.Now()
			resp, err := client.Do(req)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				bad = append(bad, err.Error())
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				bad = append(bad, fmt.Sprintf("delivery %d: %d", i, resp.StatusCode))
			}
			latencies = append(latencies, d)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	f.settle()
	if len(bad) > 0 {
		t.Fatalf("%d of %d deliveries failed, e.g. %s", len(bad), total, bad[0])
	}
	s := f.h.Stats()
	if s.Queued != int64(total) || s.Handled != int64(total) {
		t.Fatalf("stats %+v, want %d queued and handled", s, total)
	}
	if n := len(f.eng.Calls()); n != total {
		t.Fatalf("engine saw %d deliveries of %d", n, total)
	}
	slices.Sort(latencies)
	q := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	t.Logf("%d webhooks in %v (%.1f/s), none dropped; answer latency p50 %v, p99 %v, max %v",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), q(0.5), q(0.99), latencies[len(latencies)-1])
}
