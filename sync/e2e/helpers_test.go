// Package e2e holds tests that cross adapters: syncers opened through
// sync/daemon exactly as `gitlaunch sync` opens them (daemontest writes the
// admin's config file), with real parts on every side: git over HTTP, the
// local executor or a real kube-apiserver with kwok, Gitea or the stateful
// GitHub fake, and webhooks over loopback HTTP.
package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/daemon/daemontest"
	"github.com/gitlaunch/gitlaunch/sync/kube/kubetest"
)

// environ is a Getenv holding only vars, as `export GITLAUNCH_GITHUB_TOKEN=…`
// gives a syncer its credentials.
func environ(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// writeTemp writes data to a file name in a new temporary folder and
// returns its absolute path, for the files a config names.
func writeTemp(t testing.TB, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// kubeConfig is the part of a gitlaunch.yaml that runs jobs as Pods in ns
// on env's API server, found through the kubeconfig file an admin would
// name; more are further settings of the kube section. Finished Pods stay
// an hour, so that tests can read them.
func kubeConfig(env *kubetest.Env, ns string, more ...string) string {
	kube := fmt.Sprintf("  kubeconfig: %q\n  podTTL: 1h\n", env.Kubeconfig)
	for _, m := range more {
		kube += "  " + m + "\n"
	}
	return fmt.Sprintf("executor: kube\nnamespace: %s\nkube:\n%s", ns, kube)
}

// webhookURL is the syncer's POST /webhook.
func webhookURL(t testing.TB, s *daemontest.Syncer) string {
	t.Helper()
	if !s.ServesWebhooks() {
		t.Fatal("the syncer serves no webhooks")
	}
	return "http://" + s.Addr().String() + "/webhook"
}

// sign is the X-Hub-Signature-256 of body under key.
func sign(body []byte, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// post delivers a signed webhook as GitHub does and returns the answer's
// status code and how long it took.
func post(t testing.TB, url, key, event, delivery string, body []byte) (int, time.Duration) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", sign(body, key))
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sample is a webhook payload GitHub sent, recorded next to the parser
// that is tested against it.
func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "github", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// patch sets fields of a JSON document; keys are dot paths.
func patch(t testing.TB, doc []byte, set map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	for path, v := range set {
		parts := strings.Split(path, ".")
		cur := m
		for _, p := range parts[:len(parts)-1] {
			next, ok := cur[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[p] = next
			}
			cur = next
		}
		cur[parts[len(parts)-1]] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
