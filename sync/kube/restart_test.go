package kube

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/kube/kubetest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// These tests use the log kwok shows for every container (SetPodLog,
// AppendPodLog), so they must not run in parallel with each other.

func lines(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s line %d", prefix, i+1)
	}
	return out
}

func joined(parts ...[]string) string {
	var b strings.Builder
	for _, p := range parts {
		for _, l := range p {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// finishPod lets a Pod that kwok keeps running finish in a moment.
func (h *harness) finishPod(name string) {
	h.t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"500ms"}}}`, kubetest.AnnotationDuration)
	if _, err := h.env.Client.CoreV1().Pods(h.ns).Patch(h.ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

func TestSyncerRestartMidRun(t *testing.T) {
	h := setup(t)
	first, second := lines("before", 5), lines("after", 3)
	if err := h.env.SetPodLog(first...); err != nil {
		t.Fatal(err)
	}
	l := h.launch(defaultJob, ann(kubetest.AnnotationDuration, kubetest.DurationNever))
	h.start(l)
	running := h.sink.waitState(t, l.Run.ID, engine.StateRunning, 30*time.Second)
	h.sink.waitFor(t, l.Run.ID, 30*time.Second, "the first lines", func(_ []engine.Update, log string) bool {
		return log == joined(first)
	})

	// The syncer stops; the run goes on. Its successor knows what the
	// store knows: the run is running.
	if err := h.exec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.env.AppendPodLog(second...); err != nil {
		t.Fatal(err)
	}
	l.Run.State, l.Run.Reason = engine.StateRunning, running.Reason
	next := h.newExecutor()
	if err := next.Adopt(h.ctx, l, h.sink); err != nil {
		t.Fatal(err)
	}
	h.sink.waitFor(t, l.Run.ID, 30*time.Second, "the later lines", func(_ []engine.Update, log string) bool {
		return strings.Contains(log, second[len(second)-1])
	})
	h.finishPod(l.Pod.Name)
	end := h.sink.waitTerminal(t, l.Run.ID, 30*time.Second)
	us, log := h.sink.snapshot(l.Run.ID)
	checkNoRepeats(t, us)
	if end.State != engine.StateSucceeded {
		t.Errorf("terminal %s %q", end.State, end.Reason)
	}
	if want := joined(first, second); log != want {
		t.Errorf("log across the restart:\n%q\nwant\n%q", log, want)
	}
	if pods := h.runPods(l.Run.ID); len(pods) != 1 {
		t.Errorf("%d Pods for the run, want 1", len(pods))
	}
}

func TestAPIServerRestartMidWatch(t *testing.T) {
	h := setup(t)
	first, second := lines("before", 4), lines("after", 4)
	if err := h.env.SetPodLog(first...); err != nil {
		t.Fatal(err)
	}
	// A runs until cancelled and streams its log; B finishes while the
	// API server is away or just after.
	a := h.launch(defaultJob, ann(kubetest.AnnotationDuration, kubetest.DurationNever))
	b := h.launch(defaultJob, ann(kubetest.AnnotationDuration, "4s"))
	h.start(a)
	h.start(b)
	h.sink.waitState(t, a.Run.ID, engine.StateRunning, 30*time.Second)
	h.sink.waitState(t, b.Run.ID, engine.StateRunning, 30*time.Second)
	h.sink.waitFor(t, a.Run.ID, 30*time.Second, "the first lines", func(_ []engine.Update, log string) bool {
		return log == joined(first)
	})

	h.env.RestartAPIServer(t)
	if err := h.env.AppendPodLog(second...); err != nil {
		t.Fatal(err)
	}

	if end := h.sink.waitTerminal(t, b.Run.ID, time.Minute); end.State != engine.StateSucceeded {
		t.Errorf("run B: %s %q", end.State, end.Reason)
	}
	h.sink.waitFor(t, a.Run.ID, time.Minute, "the later lines", func(_ []engine.Update, log string) bool {
		return strings.Contains(log, second[len(second)-1])
	})
	// A run started after the restart goes through the new watch.
	c := h.launch(defaultJob, ann(kubetest.AnnotationDuration, "500ms"))
	h.start(c)
	if end := h.sink.waitTerminal(t, c.Run.ID, time.Minute); end.State != engine.StateSucceeded {
		t.Errorf("run C: %s %q", end.State, end.Reason)
	}
	if err := h.exec.Cancel(h.ctx, a.Run.ID); err != nil {
		t.Fatal(err)
	}
	if end := h.sink.waitTerminal(t, a.Run.ID, 30*time.Second); end.State != engine.StateCancelled {
		t.Errorf("run A: %s %q", end.State, end.Reason)
	}
	for _, id := range []string{a.Run.ID, b.Run.ID, c.Run.ID} {
		us, _ := h.sink.snapshot(id)
		checkNoRepeats(t, us)
	}
	_, log := h.sink.snapshot(a.Run.ID)
	if want := joined(first, second); log != want {
		t.Errorf("log across the API server restart:\n%q\nwant\n%q", log, want)
	}
}

// TestCloneFailed plays the kubelet of a node kwok does not manage, to
// fail the clone init container (kwok's stages always complete it). The
// node points at kwok's server for logs, so the clone step's output comes
// through the API server's pods/log like any other.
func TestCloneFailed(t *testing.T) {
	h := setup(t)
	kwokNode, err := h.env.Client.CoreV1().Nodes().Get(h.ctx, kubetest.NodeCPU, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "manual-" + h.ns}}
	node, err = h.env.Client.CoreV1().Nodes().Create(h.ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.env.Client.CoreV1().Nodes().Delete(ctx, node.Name, metav1.DeleteOptions{})
	})
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints = kwokNode.Status.DaemonEndpoints
	node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "Test"}}
	if _, err := h.env.Client.CoreV1().Nodes().UpdateStatus(h.ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	l := h.launch(defaultJob, nil)
	l.Pod.Spec.NodeName = node.Name
	if err := h.env.SetContainerLog(h.ctx, h.ns, l.Pod.Name, "clone", "Cloning https://git.example/lab.git at 3f786850",
		"fatal: remote error: upload-pack: not our ref 3f786850e387550fdab836ed7e6dc881de23001b"); err != nil {
		t.Fatal(err)
	}
	h.start(l)
	h.sink.waitState(t, l.Run.ID, engine.StatePending, 30*time.Second)
	// kwok learns of the clone log through a watch; wait until it serves it.
	for {
		out, err := h.env.Client.CoreV1().Pods(h.ns).GetLogs(l.Pod.Name, &corev1.PodLogOptions{Container: "clone"}).DoRaw(h.ctx)
		if err == nil && strings.HasPrefix(string(out), "Cloning") {
			break
		}
		if h.ctx.Err() != nil {
			t.Fatalf("kwok never served the clone log: %v %q", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}

	p, err := h.env.Client.CoreV1().Pods(h.ns).Get(h.ctx, l.Pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	p.Status.Phase = corev1.PodFailed
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "clone", Image: p.Spec.InitContainers[0].Image,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 128, Reason: "Error",
			Message: "fatal: remote error: upload-pack: not our ref 3f786850", StartedAt: now, FinishedAt: now}}}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "job", Image: p.Spec.Containers[0].Image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}}
	if _, err := h.env.Client.CoreV1().Pods(h.ns).UpdateStatus(h.ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	end := h.sink.waitTerminal(t, l.Run.ID, 30*time.Second)
	if want := "clone failed: fatal: remote error: upload-pack: not our ref 3f786850"; end.State != engine.StateError || end.Reason != want || end.Retryable {
		t.Errorf("terminal %s %q retryable=%v, want error %q", end.State, end.Reason, end.Retryable, want)
	}
	_, log := h.sink.snapshot(l.Run.ID)
	want := "[gitlaunch] clone failed; output of the clone step:\nCloning https://git.example/lab.git at 3f786850\n" +
		"fatal: remote error: upload-pack: not our ref 3f786850e387550fdab836ed7e6dc881de23001b\n"
	if log != want {
		t.Errorf("log %q\nwant %q", log, want)
	}
}
