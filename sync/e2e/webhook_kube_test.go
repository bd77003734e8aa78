// Package e2e holds tests that cross adapters: the engine wired as the
// syncer runs it, with real parts on every side.
package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	ghsync "github.com/gitlaunch/gitlaunch/sync/github"
	"github.com/gitlaunch/gitlaunch/sync/kube/kubetest"
	"github.com/gitlaunch/gitlaunch/sync/web"
)

const secret = "e2e-webhook-secret"

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// TestWebhookToPod measures a signed push webhook reaching the syncer's
// HTTP server until the run's Pod exists on a real kube-apiserver: the
// handler queues, the engine polls (ref advertisement + fetch), plans,
// renders and creates the Pod. Each sample is a new commit. It reports
// p50/p99; set GITLAUNCH_E2E_SAMPLES for more samples.
func TestWebhookToPod(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{
		"train/job.yaml": "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: busybox\ncommand: echo hi\nresources: {gpu: 1}\n",
	}, "first")
	k := newKubeEngine(t, ctx, env, ns, remote, nil)
	eng, st := k.eng, k.store
	hook, err := ghsync.NewWebhookHandler(ghsync.WebhookOptions{Secret: []byte(secret), Engine: eng})
	if err != nil {
		t.Fatal(err)
	}
	go hook.Run(ctx)
	h, err := web.New(web.Options{Store: st, Webhook: hook})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	// First sight plans the first commit; wait for its Pod, then measure.
	if _, err := eng.PollRepo(ctx, "models"); err != nil {
		t.Fatal(err)
	}
	go eng.Run(ctx)

	w, err := env.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "gitlaunch.dev/job=train"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	created := map[string]time.Time{} // sha → when the watch saw its Pod
	waitPod := func(sha string, limit time.Duration) (time.Time, bool) {
		deadline := time.After(limit)
		for {
			if at, ok := created[sha]; ok {
				return at, true
			}
			select {
			case ev := <-w.ResultChan():
				if ev.Type == watch.Added {
					p := ev.Object.(*corev1.Pod)
					created[p.Labels[render.LabelSHA]] = time.Now()
				}
			case <-deadline:
				return time.Time{}, false
			}
		}
	}
	if _, ok := waitPod(remote.Tip("refs/heads/main"), 60*time.Second); !ok {
		t.Fatal("the first commit's Pod never appeared")
	}

	samples := 20
	if n, err := fmt.Sscan(os.Getenv("GITLAUNCH_E2E_SAMPLES"), &samples); n != 1 || err != nil {
		samples = 20
	}
	var lat []time.Duration
	for i := range samples {
		sha := remote.Commit(t, "main", map[string]string{"train/x": fmt.Sprint(i)}, "change")
		body := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","before":"%s","after":"%s","repository":{"full_name":"octo-org/models","name":"models","owner":{"login":"octo-org"}},"sender":{"login":"octocat"}}`,
			"0000000000000000000000000000000000000000", sha))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("delivery-%d", i))
		req.Header.Set("X-Hub-Signature-256", sign(body))
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("webhook answered %d", resp.StatusCode)
		}
		at, ok := waitPod(sha, 30*time.Second)
		if !ok {
			t.Fatalf("no Pod for %s within 30s of its webhook", engine.ShortSHA(sha))
		}
		lat = append(lat, at.Sub(start))
	}
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	t.Logf("webhook → Pod created over %d pushes: p50 %v, p99 %v, max %v", len(lat), p(0.50), p(0.99), lat[len(lat)-1])
}
