// Package e2e holds tests that cross adapters: the engine wired as the
// syncer runs it, with real parts on every side.
package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/daemon/daemontest"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	"github.com/gitlaunch/gitlaunch/sync/github"
	"github.com/gitlaunch/gitlaunch/sync/github/githubtest"
	"github.com/gitlaunch/gitlaunch/sync/kube/kubetest"
)

// TestWebhookToPod measures a signed push webhook reaching the syncer's
// HTTP server until the run's Pod exists on a real kube-apiserver: the
// handler queues, the engine polls (ref advertisement + fetch), plans,
// renders and creates the Pod, in a syncer opened as `gitlaunch sync
// --listen` opens it (reporting to the GitHub fake, as webhooks need).
// Each sample is a new commit. It reports
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
	// The syncer serves /webhook only when repositories report to GitHub:
	// the stateful fake plays it, taking the commit statuses.
	fake := githubtest.New(t)
	fake.AddRepo(fullName)
	cfg := daemontest.Config + kubeConfig(env, ns) + fmt.Sprintf(`repos:
- url: %q
  name: models
  github: %s
github:
  baseURL: %q
sync:
  pollInterval: 1h
  maxRuns: 1000
  listen: 127.0.0.1:0
`, remote.URL, fullName, fake.URL)
	s := daemontest.Open(t, "", cfg, daemon.Options{Getenv: environ(map[string]string{
		github.TokenEnv: ghToken, github.WebhookSecretEnv: hookSecret,
	})})
	hookURL := webhookURL(t, s)
	// First sight plans the first commit; wait for its Pod, then measure.
	if _, err := s.Engine().PollRepo(ctx, "models"); err != nil {
		t.Fatal(err)
	}
	s.Start()

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
		start := time.Now()
		code, _ := post(t, hookURL, hookSecret, "push", fmt.Sprintf("delivery-%d", i), body)
		if code/100 != 2 {
			t.Fatalf("webhook answered %d", code)
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
