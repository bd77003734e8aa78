package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/store"
	"github.com/gitlaunch/gitlaunch/sync/web"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newServer(t *testing.T, health func(context.Context) error) (*httptest.Server, *store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "gitlaunch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	s, err := web.New(web.Options{Store: st, Webhook: hook, Health: health})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	now := time.Now()
	exit := 1
	run := &engine.Run{ID: "abcdefghijklmnopqrst", Repo: "models", JobName: "mnist", JobPath: "mnist/job.yaml",
		SHA: "0123456789abcdef0123456789abcdef01234567", Ref: "refs/heads/main", Branch: "main", Trigger: engine.TriggerPush,
		State: engine.StateQueued, CreatedAt: now, UpdatedAt: now}
	if _, err := st.CreateRun(ctx, run, nil); err != nil {
		t.Fatal(err)
	}
	run.State, run.StartedAt, run.FinishedAt, run.ExitCode, run.Reason = engine.StateFailed, now, now.Add(3*time.Second), &exit, "exit code 1"
	run.Metrics = map[string]float64{"accuracy": 98.5}
	run.Artifacts = []engine.Artifact{{Path: "mnist_cnn.pt", Size: 4_800_000}}
	if err := st.UpdateRun(ctx, run, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendLog(ctx, run.ID, []byte("epoch 1\n<script>alert(1)</script>\n")); err != nil {
		t.Fatal(err)
	}
	return srv, st
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPages(t *testing.T) {
	srv, _ := newServer(t, nil)
	tests := []struct {
		path     string
		code     int
		contains []string
		absent   []string
	}{
		{"/", 200, []string{"abcdefghijklmnopqrst", "mnist", "failed"}, nil},
		{"/runs/abcdefghijklmnopqrst", 200, []string{"exit code 1", "accuracy", "98.5", "mnist_cnn.pt", "4.6 MiB", "&lt;script&gt;", "queued"}, []string{"<script>alert"}},
		{"/runs/abcdefghijklmnopqrst/log", 200, []string{"<script>alert(1)</script>"}, nil},
		{"/runs/nope", 404, nil, nil},
		{"/healthz", 200, []string{"ok"}, nil},
		{"/metrics", 200, []string{`gitlaunch_runs{state="failed"} 1`, "gitlaunch_up 1"}, nil},
	}
	for _, tt := range tests {
		code, body := get(t, srv.URL+tt.path)
		if code != tt.code {
			t.Errorf("GET %s = %d, want %d", tt.path, code, tt.code)
		}
		for _, c := range tt.contains {
			if !strings.Contains(body, c) {
				t.Errorf("GET %s lacks %q", tt.path, c)
			}
		}
		for _, a := range tt.absent {
			if strings.Contains(body, a) {
				t.Errorf("GET %s contains %q", tt.path, a)
			}
		}
	}
}

func TestAPIAndWebhookRoute(t *testing.T) {
	srv, _ := newServer(t, func(context.Context) error { return errors.New("remote down") })
	code, body := get(t, srv.URL+"/api/runs")
	var runs []engine.Run
	if code != 200 || json.Unmarshal([]byte(body), &runs) != nil || len(runs) != 1 || runs[0].State != engine.StateFailed {
		t.Fatalf("/api/runs = %d %s", code, body)
	}
	if code, _ := get(t, srv.URL+"/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("unhealthy /healthz = %d", code)
	}
	resp, err := http.Post(srv.URL+"/webhook", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("POST /webhook = %d", resp.StatusCode)
	}
	if code, _ := get(t, srv.URL+"/webhook"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /webhook = %d, want 405", code)
	}
}
