package engine_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
)

// storedLog is a run's whole log as the store keeps it.
func storedLog(t *testing.T, h *harness, id string) string {
	t.Helper()
	rc, err := h.store.OpenLog(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSecretsNeverReachTheStore reproduces issue 9 finding 2 as a job's
// author would try it: the job prints its secret in two pieces a moment
// apart (two log chunks), then base64, hex and URL-encoded, names a metric
// and an artifact after it, and prints a syncer-wide hidden value. Nothing
// of it is stored; the log keeps everything else, also output that ends
// with the start of the secret.
func TestSecretsNeverReachTheStore(t *testing.T) {
	const secret = "Sw0rd&fish<42>"
	const hidden = "hidden-syncer-token-0123"
	cmd := strings.Join([]string{
		`k="$API_KEY"`,
		`printf 'piece=%s' "${k%%&*}"`, // "Sw0rd" alone in its chunk
		`sleep 0.5`,
		`printf '%s\n' "&${k#*&}"`,
		`printf '%s' "$k" | base64`,
		`printf '%s' "$k" | base64 -w0 | tr '+/' '-_'; echo`,
		`printf '%s' "$k" | od -An -tx1 | tr -d ' \n'; echo`,
		`python3 -c 'import os, urllib.parse as u; print(u.quote(os.environ["API_KEY"], safe=""))'`,
		`echo "hidden=` + hidden + `"`,
		`printf '{"m_%s": 1, "loss": 0.5}' "$k" > metrics.json`,
		`touch "out-$k.txt"`,
		`printf 'the end Sw0r'`,
	}, "\n")
	remote := gittest.NewRemote(t)
	manifest := "apiVersion: gitlaunch.dev/v1\nkind: Job\nname: leak\nimage: busybox\ncommand: |\n  " +
		strings.ReplaceAll(cmd, "\n", "\n  ") + "\nsecrets: [API_KEY]\nresults: {artifacts: ['out-*'], metrics: {file: metrics.json}}\n"
	remote.Commit(t, "main", map[string]string{"leak/job.yaml": manifest}, "first")
	h := newHarness(t, remote, "", harnessOpts{secrets: map[string]string{"API_KEY": secret}, hidden: []string{hidden}})
	runs := h.wait(h.poll()...)
	if len(runs) != 1 || runs[0].State != engine.StateSucceeded {
		t.Fatalf("runs: %+v", runs)
	}
	r := runs[0]
	log := storedLog(t, h, r.ID)
	leaks := []string{secret, "piece=Sw0rd", "&fish<42>", hidden, base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.URLEncoding.EncodeToString([]byte(secret)), hex.EncodeToString([]byte(secret)), url.QueryEscape(secret),
		url.PathEscape(secret)}
	for _, leak := range leaks {
		if strings.Contains(log, leak) {
			t.Errorf("the stored log holds %q:\n%s", leak, log)
		}
	}
	if !strings.Contains(log, "piece=***\n") || strings.Count(log, "***") < 6 || !strings.HasSuffix(log, "the end Sw0r") {
		t.Errorf("stored log:\n%s", log)
	}
	stored, err := h.store.GetRun(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name := range stored.Metrics {
		if strings.Contains(name, "Sw0rd") {
			t.Errorf("metric name %q stored", name)
		}
	}
	for _, a := range stored.Artifacts {
		if strings.Contains(a.Path, "Sw0rd") {
			t.Errorf("artifact %q stored", a.Path)
		}
	}
	if len(stored.Artifacts) != 1 || stored.Artifacts[0].Path != "out-***.txt" {
		t.Errorf("artifacts: %+v", stored.Artifacts)
	}
}
