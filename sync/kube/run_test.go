package kube

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/kube/kubetest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// These tests run against the real API server and scheduler that kubetest
// starts; kwok plays the kubelet of the fake nodes, steered by the Pod
// annotations kubetest documents.

func states(us []engine.Update) []engine.State {
	var out []engine.State
	for _, u := range us {
		if len(out) == 0 || out[len(out)-1] != u.State {
			out = append(out, u.State)
		}
	}
	return out
}

func TestRunSucceeds(t *testing.T) {
	h := setup(t, func(o *Options) { o.PodTTL = time.Second })
	job := defaultJob + `results:
  artifacts: ["*.pt"]
  metrics:
    file: metrics.json
    patterns: {loss: 'loss=([\d.]+)'}
`
	l := h.launch(job, ann(kubetest.AnnotationStartDelay, "1s", kubetest.AnnotationDuration, "2s"))
	if err := h.env.SetContainerLog(h.ctx, h.ns, l.Pod.Name, "job", "epoch 1 loss=0.5", "epoch 2 loss=0.25"); err != nil {
		t.Fatal(err)
	}
	// What the job leaves in its folder of the results volume.
	wd := filepath.Join(h.results, "runs", l.Run.ID, "train")
	write(t, filepath.Join(wd, "model.pt"), "weights")
	write(t, filepath.Join(wd, "metrics.json"), `{"acc": 0.9}`)

	h.start(l)
	end := h.sink.waitTerminal(t, l.Run.ID, time.Minute)
	us, log := h.sink.snapshot(l.Run.ID)
	t.Logf("updates:\n%s", describe(us))
	checkNoRepeats(t, us)
	if got, want := states(us), []engine.State{engine.StatePending, engine.StateRunning, engine.StateSucceeded}; !reflect.DeepEqual(got, want) {
		t.Errorf("states %v, want %v:\n%s", got, want, describe(us))
	}
	if end.ExitCode == nil || *end.ExitCode != 0 {
		t.Errorf("exit code %v, want 0", end.ExitCode)
	}
	if want := []engine.Artifact{{Path: "model.pt", Size: 7}}; !reflect.DeepEqual(end.Artifacts, want) {
		t.Errorf("artifacts %v, want %v", end.Artifacts, want)
	}
	if want := map[string]float64{"loss": 0.25, "acc": 0.9}; !reflect.DeepEqual(end.Metrics, want) {
		t.Errorf("metrics %v, want %v", end.Metrics, want)
	}
	if want := "epoch 1 loss=0.5\nepoch 2 loss=0.25\n"; log != want {
		t.Errorf("log %q, want %q", log, want)
	}
	for _, u := range us {
		if u.State == engine.StateRunning && !strings.HasPrefix(u.Reason, "running on ") {
			t.Errorf("running reason %q does not name the node", u.Reason)
		}
	}
	// Saved, then deleted after PodTTL.
	h.waitGone(l.Pod.Name, 20*time.Second)
}

func TestRunOutcomes(t *testing.T) {
	h := setup(t)
	tests := []struct {
		name      string
		job       string
		ann       map[string]string
		state     engine.State
		reason    string
		code      int // -1: not checked
		retryable bool
	}{
		{"exit code", defaultJob, ann(kubetest.AnnotationExitCode, "3"), engine.StateFailed, "exit code 3", 3, false},
		{"out of memory", defaultJob, ann(kubetest.AnnotationExitCode, "137", kubetest.AnnotationReason, "OOMKilled"),
			engine.StateFailed, "out of memory (OOMKilled; limit 1Gi)", 137, false},
		// kwok does not enforce activeDeadlineSeconds (a kubelet does); the
		// annotation makes it end the Pod as a kubelet would.
		{"timeout", defaultJob + "timeout: 90s\n", ann(kubetest.AnnotationExitCode, "137", kubetest.AnnotationPodReason, "DeadlineExceeded"),
			engine.StateTimedOut, "timed out: ran longer than its limit of 1m30s", -1, false},
		{"evicted", defaultJob, ann(kubetest.AnnotationExitCode, "137", kubetest.AnnotationPodReason, "Evicted"),
			engine.StateError, "evicted: pod finished with reason Evicted (kwok)", -1, true},
	}
	launches := make([]engine.Launch, len(tests))
	for i, tt := range tests {
		a := ann(kubetest.AnnotationDuration, "1s")
		for k, v := range tt.ann {
			a[k] = v
		}
		launches[i] = h.launch(tt.job, a)
		h.start(launches[i]) // all at once: one executor follows them together
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := launches[i].Run.ID
			end := h.sink.waitTerminal(t, id, time.Minute)
			us, _ := h.sink.snapshot(id)
			checkNoRepeats(t, us)
			if end.State != tt.state || end.Reason != tt.reason || end.Retryable != tt.retryable {
				t.Errorf("got %s %q retryable=%v, want %s %q retryable=%v", end.State, end.Reason, end.Retryable, tt.state, tt.reason, tt.retryable)
			}
			if tt.code >= 0 && (end.ExitCode == nil || *end.ExitCode != tt.code) {
				t.Errorf("exit code %v, want %d", end.ExitCode, tt.code)
			}
		})
	}
}

func TestUnschedulableGPURequestStaysPending(t *testing.T) {
	h := setup(t)
	// 9 GPUs: the H100 node has 8 nvidia.com/gpu, the others none.
	l := h.launch(strings.Replace(defaultJob, "resources: {", "resources: {gpu: 9, ", 1), nil)
	h.start(l)
	u, _ := h.sink.waitFor(t, l.Run.ID, 30*time.Second, "a scheduler verdict", func(us []engine.Update, _ string) bool {
		return anyOf(us, func(u engine.Update) bool { return strings.HasPrefix(u.Reason, "waiting for GPUs") })
	})
	var reason string
	for _, x := range u {
		if strings.HasPrefix(x.Reason, "waiting for GPUs") {
			reason = x.Reason
		}
	}
	t.Logf("pending reason: %s", reason)
	if !strings.Contains(reason, "Insufficient nvidia.com/gpu") || strings.Contains(reason, "preemption") {
		t.Errorf("reason %q should name nvidia.com/gpu, without the preemption note", reason)
	}
	time.Sleep(2 * time.Second)
	us, _ := h.sink.snapshot(l.Run.ID)
	for _, x := range us {
		if x.State != engine.StatePending {
			t.Fatalf("a Pod that fits no node left pending:\n%s", describe(us))
		}
	}
	if err := h.exec.Cancel(h.ctx, l.Run.ID); err != nil {
		t.Fatal(err)
	}
	if end := h.sink.waitTerminal(t, l.Run.ID, 30*time.Second); end.State != engine.StateCancelled {
		t.Errorf("after cancel: %s %q", end.State, end.Reason)
	}
	h.waitGone(l.Pod.Name, 20*time.Second)
}

func TestGPUModelSelectsNode(t *testing.T) {
	h := setup(t)
	tests := []struct {
		model, node string
		resource    corev1.ResourceName
		selector    bool
	}{
		{"a100", kubetest.NodeA100, kubetest.ResourceA100, false},
		{"h100", kubetest.NodeH100, kubetest.ResourceGPU, true},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			job := strings.Replace(defaultJob, "resources: {", "resources: {gpu: 2, gpuModel: "+tt.model+", ", 1)
			l := h.launch(job, ann(kubetest.AnnotationDuration, kubetest.DurationNever))
			if q := l.Pod.Spec.Containers[0].Resources.Limits[tt.resource]; q.Value() != 2 {
				t.Fatalf("rendered limits %v lack 2 × %s", l.Pod.Spec.Containers[0].Resources.Limits, tt.resource)
			}
			if got := l.Pod.Spec.NodeSelector[kubetest.GPUProductLabel] != ""; got != tt.selector {
				t.Fatalf("node selector %v", l.Pod.Spec.NodeSelector)
			}
			h.start(l)
			u := h.sink.waitState(t, l.Run.ID, engine.StateRunning, 30*time.Second)
			if want := "running on " + tt.node; u.Reason != want {
				t.Errorf("reason %q, want %q", u.Reason, want)
			}
			p, err := h.env.Client.CoreV1().Pods(h.ns).Get(h.ctx, l.Pod.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Spec.NodeName != tt.node {
				t.Errorf("spec.nodeName %q, want %q", p.Spec.NodeName, tt.node)
			}
		})
	}
}

func TestCancelRunning(t *testing.T) {
	h := setup(t, func(o *Options) { o.CancelGrace = 5 * time.Second })
	l := h.launch(defaultJob, ann(kubetest.AnnotationDuration, kubetest.DurationNever))
	h.start(l)
	h.sink.waitState(t, l.Run.ID, engine.StateRunning, 30*time.Second)
	if err := h.exec.Cancel(h.ctx, l.Run.ID); err != nil {
		t.Fatal(err)
	}
	end := h.sink.waitTerminal(t, l.Run.ID, 30*time.Second)
	if end.State != engine.StateCancelled || end.Reason != "cancelled" {
		t.Errorf("terminal %s %q", end.State, end.Reason)
	}
	us, _ := h.sink.snapshot(l.Run.ID)
	checkNoRepeats(t, us)
	h.waitGone(l.Pod.Name, 20*time.Second)
	if err := h.exec.Cancel(h.ctx, l.Run.ID); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("cancel of a finished run: %v, want ErrNotFound", err)
	}
	if err := h.exec.Cancel(h.ctx, "nosuchrun"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("cancel of an unknown run: %v, want ErrNotFound", err)
	}
}

func TestImagePullTrouble(t *testing.T) {
	h := setup(t) // PullGrace 2s
	backoff := h.launch(defaultJob, ann(kubetest.AnnotationWaitingReason, "ImagePullBackOff",
		kubetest.AnnotationWaitingMessage, `Back-off pulling image "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"`))
	invalid := h.launch(defaultJob, ann(kubetest.AnnotationWaitingReason, "InvalidImageName",
		kubetest.AnnotationWaitingMessage, "Failed to apply default image tag"))
	h.start(backoff)
	h.start(invalid)

	end := h.sink.waitTerminal(t, backoff.Run.ID, 30*time.Second)
	us, _ := h.sink.snapshot(backoff.Run.ID)
	checkNoRepeats(t, us)
	image := `"pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"`
	if !anyOf(us, func(u engine.Update) bool {
		return u.State == engine.StatePending && u.Reason == "cannot pull image "+image+" yet (retrying for up to 2s)"
	}) {
		t.Errorf("no pending update naming the image:\n%s", describe(us))
	}
	if end.State != engine.StateError || !strings.HasPrefix(end.Reason, "image pull failed: cannot pull image "+image) || end.Retryable {
		t.Errorf("terminal %s %q retryable=%v", end.State, end.Reason, end.Retryable)
	}
	h.waitGone(backoff.Pod.Name, 20*time.Second) // a Pod that never finished is deleted

	end = h.sink.waitTerminal(t, invalid.Run.ID, 30*time.Second)
	want := "cannot pull image " + image + " (InvalidImageName): Failed to apply default image tag"
	if end.State != engine.StateError || end.Reason != want {
		t.Errorf("invalid image: %s %q, want error %q", end.State, end.Reason, want)
	}
}

func TestPodDeletedByOthersIsNodeLost(t *testing.T) {
	h := setup(t)
	l := h.launch(defaultJob, ann(kubetest.AnnotationDuration, kubetest.DurationNever))
	h.start(l)
	h.sink.waitState(t, l.Run.ID, engine.StateRunning, 30*time.Second)
	zero := int64(0)
	if err := h.env.Client.CoreV1().Pods(h.ns).Delete(h.ctx, l.Pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	end := h.sink.waitTerminal(t, l.Run.ID, 30*time.Second)
	if end.State != engine.StateError || !end.Retryable || !strings.HasPrefix(end.Reason, "node lost") {
		t.Errorf("terminal %s %q retryable=%v", end.State, end.Reason, end.Retryable)
	}
}

func TestStartAdoptsExistingPod(t *testing.T) {
	h := setup(t)
	l := h.launch(defaultJob, ann(kubetest.AnnotationDuration, "3s"))
	// An earlier process created it and died before it could say so.
	if _, err := h.env.Client.CoreV1().Pods(h.ns).Create(h.ctx, l.Pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.start(l)
	h.start(l) // a duplicate event while it is followed
	end := h.sink.waitTerminal(t, l.Run.ID, time.Minute)
	if end.State != engine.StateSucceeded {
		t.Errorf("terminal %s %q", end.State, end.Reason)
	}
	us, _ := h.sink.snapshot(l.Run.ID)
	checkNoRepeats(t, us)
	if pods := h.runPods(l.Run.ID); len(pods) != 1 {
		t.Errorf("%d Pods for the run, want 1", len(pods))
	}

	// A Pod of that name that belongs to another run is not adopted.
	other := h.launch(defaultJob, nil)
	other.Pod.Name = l.Pod.Name
	if err := h.exec.Start(h.ctx, other, h.sink); err == nil {
		t.Error("Start adopted another run's Pod")
	}
}

func TestAdoptMissingPod(t *testing.T) {
	h := setup(t)
	l := h.launch(defaultJob, nil)
	if err := h.exec.Adopt(h.ctx, l, h.sink); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("adopt without a Pod: %v, want ErrNotFound", err)
	}
}

func TestSweepDeletesFinishedPods(t *testing.T) {
	h := setup(t)
	old := metav1.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	mk := func(annotations map[string]string) string {
		l := h.launch(defaultJob, ann(kubetest.AnnotationDuration, "100ms"))
		for k, v := range annotations {
			l.Pod.Annotations[k] = v
		}
		if _, err := h.env.Client.CoreV1().Pods(h.ns).Create(h.ctx, l.Pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.env.WaitForPod(h.ctx, h.ns, l.Pod.Name, kubetest.PodPhase(corev1.PodSucceeded)); err != nil {
			t.Fatal(err)
		}
		return l.Pod.Name
	}
	saved := mk(ann(AnnotationSavedAt, old))
	orphan := mk(nil)
	// A restarted syncer: the first sweep removes the saved Pod (PodTTL
	// passed long ago), and the orphan once OrphanTTL has passed.
	_ = h.newExecutor(func(o *Options) { o.PodTTL = time.Minute; o.OrphanTTL = time.Hour })
	h.waitGone(saved, 10*time.Second)
	time.Sleep(time.Second)
	if _, err := h.env.Client.CoreV1().Pods(h.ns).Get(h.ctx, orphan, metav1.GetOptions{}); err != nil {
		t.Fatalf("an orphan within OrphanTTL was deleted: %v", err)
	}
	_ = h.newExecutor(func(o *Options) { o.OrphanTTL = time.Millisecond })
	h.waitGone(orphan, 10*time.Second)
}
