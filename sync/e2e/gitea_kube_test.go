package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/kube"
	"github.com/gitlaunch/gitlaunch/sync/kube/kubetest"
)

// kubeJobYAML is the job the kube test pushes. kwok plays the kubelet, so
// its command never runs: kwok ends every container after 2 seconds with
// exit code 0 and shows the log SetPodLog gave, which carries the metric.
const kubeJobYAML = `apiVersion: gitlaunch.dev/v1
kind: Job
name: ` + e2eJob + `
image: busybox
command: python train.py
secrets: [E2E_TOKEN]
results:
  metrics:
    patterns:
      accuracy: 'accuracy=([0-9.]+)'
`

// TestSyncListenKubeGitea is `gitlaunch sync --listen` as a cluster runs
// it: daemon.Run (not Once) from an admin's config with the kube executor
// (kubeconfig file, namespace, leader election) on a real kube-apiserver
// with kwok, reporting to a real Gitea whose webhooks drive it. A push
// to main becomes a Pod on the API server, its commit status on Gitea; a
// pull request from a branch becomes another Pod and one comment on the
// pull request, with the metric compared against main's run.
func TestSyncListenKubeGitea(t *testing.T) {
	w := newE2EWorld(t) // first: Gitea starts faster than a control plane
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	ctx := t.Context()
	// The repository's Secret, as an admin creates it for trusted runs.
	if _, err := env.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: e2eRepo + "-secrets"},
		StringData: map[string]string{"E2E_TOKEN": e2eSecret},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const replica = "gitlaunch-syncer-0" // $POD_NAME in a Deployment
	s := w.startSyncer(kubeConfig(env, ns, "leaderElection: true"), map[string]string{"POD_NAME": replica})

	// 1. A push to main: webhook → poll → Pod → status success on Gitea.
	if err := env.SetPodLog("epoch 1", "accuracy=90"); err != nil {
		t.Fatal(err)
	}
	work := w.clone()
	mainSHA := work.commit(map[string]string{e2eJob + "/job.yaml": kubeJobYAML, e2eJob + "/train.py": "print(1)\n"},
		"add the train job")
	mainPod := w.waitPod(env, ns, mainSHA, 0)
	st := w.waitStatus(mainSHA, "success")
	if !strings.Contains(st.Description, "accuracy 90") {
		t.Errorf("main status description = %q, want the headline metric", st.Description)
	}
	mainRun := w.onlyRunAt(s, mainSHA)
	if mainRun.Trigger != engine.TriggerPush || mainRun.Untrusted || mainRun.Metrics["accuracy"] != 90 {
		t.Errorf("main run = trigger %s untrusted %v metrics %v", mainRun.Trigger, mainRun.Untrusted, mainRun.Metrics)
	}
	if want := render.PodName(e2eJob, mainRun.ID); mainPod.Name != want {
		t.Errorf("main's Pod is %s, want %s", mainPod.Name, want)
	}
	if ref := secretRef(mainPod, "E2E_TOKEN"); ref == nil || ref.Name != e2eRepo+"-secrets" {
		t.Errorf("the trusted run's Pod does not take E2E_TOKEN from the repository's Secret: %+v", ref)
	}
	w.checkRunPage(st.TargetURL, mainRun.ID)
	if log := w.runLog(s, mainRun.ID); !strings.Contains(log, "accuracy=90") {
		t.Errorf("main run's log lacks the Pod's log:\n%s", log)
	}

	// The engine ran under the syncer's Lease, held by this replica.
	lease, err := env.Client.CoordinationV1().Leases(ns).Get(ctx, kube.DefaultLeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("leader lease: %v", err)
	}
	if h := lease.Spec.HolderIdentity; h == nil || *h != replica {
		t.Errorf("lease holder %q, want %s", ptrString(h), replica)
	}

	// 2. A pull request from a branch of the repository, by the owner: a
	// trusted Pod, its status, and one comment with the job table and the
	// metric against main's run.
	if err := env.SetPodLog("epoch 1", "accuracy=93"); err != nil {
		t.Fatal(err)
	}
	work.git("switch", "--quiet", "-c", "better")
	prSHA := work.commit(map[string]string{e2eJob + "/train.py": "print(2)\n"}, "train better")
	pr := w.gitea.CreatePullRequest(t, e2eRepo, "better", "main", "Better accuracy")
	prPod := w.waitPod(env, ns, prSHA, pr)
	w.waitStatus(prSHA, "success")
	comment := w.waitComment(pr, func(body string) bool {
		return strings.Contains(body, engine.ShortSHA(prSHA)) && strings.Contains(body, "✅ succeeded")
	})
	for _, want := range []string{
		"| " + e2eJob + " | ✅ succeeded",
		"accuracy **93** (+3, +3.3%)",
		"http://" + w.addr + "/runs/",
	} {
		if !strings.Contains(comment.GetBody(), want) {
			t.Errorf("pull request comment lacks %q:\n%s", want, comment.GetBody())
		}
	}
	if comment.GetUser().GetLogin() != e2eBot {
		t.Errorf("comment written by %q, want %q", comment.GetUser().GetLogin(), e2eBot)
	}
	prRuns := w.runs(s, engine.RunFilter{PR: pr})
	if len(prRuns) != 1 || prRuns[0].SHA != prSHA || prRuns[0].Untrusted || prRuns[0].State != engine.StateSucceeded {
		t.Fatalf("pull request runs = %+v", prRuns)
	}
	if want := render.PodName(e2eJob, prRuns[0].ID); prPod.Name != want {
		t.Errorf("the pull request's Pod is %s, want %s", prPod.Name, want)
	}
	for _, c := range w.comments(pr) {
		for _, v := range []string{e2eSecret, w.botToken, e2eHookSecret} {
			if strings.Contains(c.GetBody(), v) {
				t.Errorf("comment %d on #%d shows a secret value", c.GetID(), pr)
			}
		}
	}
}

// waitPod waits until the API server has the Pod of the run at sha (of
// pull request pr, when pr > 0) and returns it.
func (w *e2eWorld) waitPod(env *kubetest.Env, ns, sha string, pr int) *corev1.Pod {
	w.t.Helper()
	sel := render.LabelSHA + "=" + sha
	if pr > 0 {
		sel += "," + render.LabelPR + "=" + strconv.Itoa(pr)
	}
	var pod *corev1.Pod
	w.waitFor("a Pod for "+sel, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		pods, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return false, err.Error()
		}
		if len(pods.Items) > 1 {
			w.t.Fatalf("%d Pods for %s", len(pods.Items), sel)
		}
		if len(pods.Items) == 0 {
			return false, fmt.Sprintf("no Pod in %s", ns)
		}
		pod = &pods.Items[0]
		return true, ""
	})
	return pod
}

// secretRef is where the job container takes the variable name from a
// Secret; nil when it does not.
func secretRef(p *corev1.Pod, name string) *corev1.SecretKeySelector {
	for _, c := range p.Spec.Containers {
		if c.Name != render.ContainerJob {
			continue
		}
		for _, e := range c.Env {
			if e.Name == name && e.ValueFrom != nil {
				return e.ValueFrom.SecretKeyRef
			}
		}
	}
	return nil
}

func ptrString(p *string) string {
	if p == nil {
		return "<none>"
	}
	return *p
}
