package github

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/redact"
)

func TestNewClientBaseURLs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "https://api.github.com/"},
		{"https://ghe.example.com", "https://ghe.example.com/api/v3/"},
		{"https://ghe.example.com/api/v3", "https://ghe.example.com/api/v3/"},
		{"http://127.0.0.1:3000/api/v1/", "http://127.0.0.1:3000/api/v1/"}, // Gitea
	}
	for _, tt := range tests {
		c, err := NewClient(tt.in, "tok", nil)
		if err != nil {
			t.Fatalf("%q: %v", tt.in, err)
		}
		if got := c.BaseURL.String(); got != tt.want {
			t.Errorf("%q → %s, want %s", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"ghe.example.com", "ftp://x/", "http://"} {
		if _, err := NewClient(bad, "tok", nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestLoadToken(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "empty"), []byte("\n"), 0o600)
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	cfg := &schema.Config{Dir: dir}

	if tok, err := LoadToken(cfg, getenv); tok != "" || err != nil {
		t.Errorf("nothing configured: %q %v", tok, err)
	}
	cfg.GitHub.TokenFile = "token"
	if tok, err := LoadToken(cfg, getenv); tok != "from-file" || err != nil {
		t.Errorf("file: %q %v", tok, err)
	}
	env[TokenEnv] = "from-env"
	if tok, _ := LoadToken(cfg, getenv); tok != "from-env" {
		t.Errorf("env must win: %q", tok)
	}
	cfg.GitHub.WebhookSecretFile = "missing"
	if _, err := LoadWebhookSecret(cfg, getenv); err == nil || !strings.Contains(err.Error(), "github.webhookSecretFile") {
		t.Errorf("missing file: %v", err)
	}
	cfg.GitHub.WebhookSecretFile = "empty"
	if _, err := LoadWebhookSecret(cfg, getenv); err == nil {
		t.Error("an empty secret file was accepted")
	}
}

func TestLogTail(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	mk := func(id, log string) {
		r := &engine.Run{ID: id, Repo: "models", State: engine.StateFailed}
		if _, err := st.CreateRun(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
		if log != "" {
			if err := st.AppendLog(ctx, id, []byte(log)); err != nil {
				t.Fatal(err)
			}
		}
	}
	red := redact.New(secret)
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "line %04d %s\n", i, secret)
	}
	mk("many", b.String())
	mk("none", "")
	mk("one-long-line", strings.Repeat("é", 10000)+secret)

	tail, n, err := logTail(ctx, st, "many", 50, 4096, red)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(tail, "\n"), "\n")
	if n != 50 || len(lines) != 50 || lines[49] != "line 0999 ***" || lines[0] != "line 0950 ***" {
		t.Errorf("tail: %d lines, first %q, last %q", n, lines[0], lines[len(lines)-1])
	}
	if tail, _, _ := logTail(ctx, st, "many", 1000, 300, red); len(tail) > 300 || strings.Contains(tail, "wandb") {
		t.Errorf("byte bound: %d bytes %q", len(tail), tail)
	}
	if tail, n, err := logTail(ctx, st, "none", 50, 4096, red); tail != "" || n != 0 || err != nil {
		t.Errorf("empty log: %q %d %v", tail, n, err)
	}
	tail, _, err = logTail(ctx, st, "one-long-line", 50, 100, red)
	if err != nil || !strings.HasSuffix(tail, "***\n") || len(tail) > 110 || strings.Contains(tail, "s3cr3t") {
		t.Errorf("long line: %q %v", tail, err)
	}
	if _, _, err := logTail(ctx, st, "missing", 50, 100, red); err == nil {
		t.Error("no error for a missing run")
	}
}
