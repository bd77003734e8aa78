package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/daemon/daemontest"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	"github.com/gitlaunch/gitlaunch/sync/kube/kubetest"
	"github.com/gitlaunch/gitlaunch/templates"
)

// TestRetryAfterNodeLoss: a run's Pod vanishes while it runs (its node is
// lost); with retries: 1 the engine launches attempt 2 as a new Pod, which
// succeeds. A job without retries ends in error instead.
func TestRetryAfterNodeLoss(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{
		"retry/job.yaml":   "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: busybox\ncommand: train\nretries: 1\n",
		"noretry/job.yaml": "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: busybox\ncommand: train\n",
	}, "first")
	// The admin's template makes kwok keep each Pod running for a while.
	base, err := templates.ParsePod(templates.PodYAML)
	if err != nil {
		t.Fatal(err)
	}
	if base.Annotations == nil {
		base.Annotations = map[string]string{}
	}
	base.Annotations[kubetest.AnnotationDuration] = "4s"
	tmpl, err := yaml.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	cfg := daemontest.Config + kubeConfig(env, ns) + fmt.Sprintf(`podTemplate: %q
repos:
- url: %q
  name: models
sync:
  pollInterval: 1h
  maxRuns: 1000
`, writeTemp(t, "pod.yaml", string(tmpl)), remote.URL)
	s := daemontest.Open(t, "", cfg, daemon.Options{})
	runs, err := s.Engine().PollRepo(ctx, "models")
	if err != nil || len(runs) != 2 {
		t.Fatalf("planned %d runs: %v", len(runs), err)
	}
	s.Start()

	// Once both Pods run, take them away as a lost node would.
	for _, r := range runs {
		name := render.PodName(r.JobName, r.ID)
		if _, err := env.WaitForPod(ctx, ns, name, kubetest.PodPhase(corev1.PodRunning)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		grace := int64(0)
		if err := env.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
			t.Fatal(err)
		}
	}
	wctx, wcancel := context.WithTimeout(ctx, 90*time.Second)
	defer wcancel()
	final, err := s.Engine().WaitIdle(wctx, []string{runs[0].ID, runs[1].ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range final {
		switch r.JobName {
		case "retry":
			if r.State != engine.StateSucceeded || r.Attempt != 2 {
				t.Errorf("retry: %s after %d attempts (%s)", r.State, r.Attempt, r.Reason)
			}
			if _, err := env.Client.CoreV1().Pods(ns).Get(ctx, render.AttemptPodName(r.JobName, r.ID, 2), metav1.GetOptions{}); err != nil {
				t.Errorf("attempt 2 Pod: %v", err)
			}
		case "noretry":
			if r.State != engine.StateError || r.Attempt != 1 {
				t.Errorf("noretry: %s after %d attempts (%s)", r.State, r.Attempt, r.Reason)
			}
		}
	}
	tr, err := s.Store().Transitions(ctx, runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("transitions of %s: %+v", runs[0].JobName, tr)
}
