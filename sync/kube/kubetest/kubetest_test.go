package kubetest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/tools/cache"

	"github.com/gitlaunch/gitlaunch/sync/kube/kubetest"
)

var kube *kubetest.Env

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, &kube)) }

func ctxFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// pod is a bare Pod as gitlaunch makes them: restartPolicy Never, an init
// container, a main container limited to n of resource res.
func pod(name string, res corev1.ResourceName, n int64, annotations map[string]string) *corev1.Pod {
	limits := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("1"),
		corev1.ResourceMemory: resource.MustParse("1Gi"),
	}
	if res != "" {
		limits[res] = *resource.NewQuantity(n, resource.DecimalSI)
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			InitContainers: []corev1.Container{{
				Name: "clone", Image: "gitlaunch:test", Args: []string{"clone"},
			}},
			Containers: []corev1.Container{{
				Name: "main", Image: "pytorch:test", Command: []string{"sh", "-c", "python train.py"},
				Resources: corev1.ResourceRequirements{Limits: limits},
			}},
		},
	}
}

func terminated(t *testing.T, p *corev1.Pod) *corev1.ContainerStateTerminated {
	t.Helper()
	if len(p.Status.ContainerStatuses) != 1 {
		t.Fatalf("container statuses = %+v, want one", p.Status.ContainerStatuses)
	}
	term := p.Status.ContainerStatuses[0].State.Terminated
	if term == nil {
		t.Fatalf("container state = %+v, want terminated", p.Status.ContainerStatuses[0].State)
	}
	return term
}

func TestNodesReadyWithGPUCapacity(t *testing.T) {
	env := kubetest.Need(t, kube)
	ctx := ctxFor(t, 30*time.Second)
	t.Logf("control plane started in %s", env.StartupTime)

	nodes, err := env.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]corev1.Node{}
	for _, n := range nodes.Items {
		byName[n.Name] = n
		ready := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		if !ready {
			t.Errorf("node %s not Ready: %+v", n.Name, n.Status.Conditions)
		}
		if len(n.Spec.Taints) != 0 {
			t.Errorf("node %s has taints %+v", n.Name, n.Spec.Taints)
		}
	}
	for _, want := range []struct {
		node string
		res  corev1.ResourceName
	}{{kubetest.NodeH100, kubetest.ResourceGPU}, {kubetest.NodeA100, kubetest.ResourceA100}} {
		n, ok := byName[want.node]
		if !ok {
			t.Fatalf("node %s missing; have %v", want.node, env.Nodes)
		}
		for _, list := range []corev1.ResourceList{n.Status.Capacity, n.Status.Allocatable} {
			if q := list[want.res]; q.Value() != 8 {
				t.Errorf("node %s %s = %s, want 8", want.node, want.res, q.String())
			}
		}
	}
	if got := byName[kubetest.NodeH100].Labels[kubetest.GPUProductLabel]; got != kubetest.H100Product {
		t.Errorf("H100 node product label = %q", got)
	}
	if _, ok := byName[kubetest.NodeCPU]; !ok {
		t.Errorf("CPU node missing")
	}

	// What a user would check with kubectl.
	cmd := exec.CommandContext(ctx, env.Kubectl, "--kubeconfig", env.Kubeconfig, "get", "nodes", "-o", "json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl get nodes: %v\n%s", err, stderr.String())
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Status struct {
				Capacity   map[string]string `json:"capacity"`
				Conditions []struct {
					Type   string `json:"type"`
					Status string `json:"status"`
				} `json:"conditions"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("kubectl output: %v\n%s", err, out)
	}
	seen := map[string]map[string]string{}
	for _, it := range list.Items {
		seen[it.Metadata.Name] = it.Status.Capacity
		for _, c := range it.Status.Conditions {
			if c.Type == "Ready" && c.Status != "True" {
				t.Errorf("kubectl: node %s Ready=%s", it.Metadata.Name, c.Status)
			}
		}
	}
	if got := seen[kubetest.NodeH100]["nvidia.com/gpu"]; got != "8" {
		t.Errorf("kubectl: %s nvidia.com/gpu = %q, want 8", kubetest.NodeH100, got)
	}
	if got := seen[kubetest.NodeA100]["nvidia.com/a100"]; got != "8" {
		t.Errorf("kubectl: %s nvidia.com/a100 = %q, want 8", kubetest.NodeA100, got)
	}

	// The API server says which release it is (hack/kube-tools.sh stamps it).
	v, err := env.Client.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != kubetest.KubeVersion {
		t.Errorf("server version = %q, want %s", v.GitVersion, kubetest.KubeVersion)
	}
}

func TestGPUPodScheduledRunsAndSucceeds(t *testing.T) {
	env := kubetest.Need(t, kube)
	ns := env.Namespace(t)
	ctx := ctxFor(t, 60*time.Second)
	p := pod("train", kubetest.ResourceGPU, 1, map[string]string{kubetest.AnnotationDuration: "3s"})
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	running, err := env.WaitForPod(ctx, ns, "train", kubetest.PodPhase(corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed))
	if err != nil {
		t.Fatal(err)
	}
	if running.Status.Phase != corev1.PodRunning {
		t.Fatalf("phase = %s, want Running first", running.Status.Phase)
	}
	if running.Spec.NodeName != kubetest.NodeH100 {
		t.Errorf("scheduled on %q, want %s", running.Spec.NodeName, kubetest.NodeH100)
	}
	if running.Status.PodIP == "" || running.Status.HostIP != "127.0.0.1" {
		t.Errorf("podIP %q hostIP %q", running.Status.PodIP, running.Status.HostIP)
	}
	if s := running.Status.InitContainerStatuses; len(s) != 1 || s[0].State.Terminated == nil || s[0].State.Terminated.ExitCode != 0 {
		t.Errorf("init container statuses = %+v", s)
	}
	if s := running.Status.ContainerStatuses; len(s) != 1 || s[0].State.Running == nil || !s[0].Ready {
		t.Errorf("container statuses = %+v", s)
	}
	done, err := env.WaitForPod(ctx, ns, "train", kubetest.PodPhase(corev1.PodSucceeded, corev1.PodFailed))
	if err != nil {
		t.Fatal(err)
	}
	if done.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("phase = %s, want Succeeded", done.Status.Phase)
	}
	if term := terminated(t, done); term.ExitCode != 0 || term.Reason != "Completed" {
		t.Errorf("terminated = %+v", term)
	}
}

func TestPodExitCodeFails(t *testing.T) {
	env := kubetest.Need(t, kube)
	ns := env.Namespace(t)
	ctx := ctxFor(t, 60*time.Second)
	p := pod("crash", kubetest.ResourceGPU, 1, map[string]string{
		kubetest.AnnotationDuration: "500ms",
		kubetest.AnnotationExitCode: "3",
	})
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	done, err := env.WaitForPod(ctx, ns, "crash", kubetest.PodPhase(corev1.PodSucceeded, corev1.PodFailed))
	if err != nil {
		t.Fatal(err)
	}
	if done.Status.Phase != corev1.PodFailed {
		t.Fatalf("phase = %s, want Failed", done.Status.Phase)
	}
	if term := terminated(t, done); term.ExitCode != 3 || term.Reason != "Error" {
		t.Errorf("terminated = %+v, want exit code 3, reason Error", term)
	}
}

func TestPodOOMKilledAndEvicted(t *testing.T) {
	env := kubetest.Need(t, kube)
	ns := env.Namespace(t)
	ctx := ctxFor(t, 60*time.Second)
	oom := pod("oom", "", 0, map[string]string{
		kubetest.AnnotationDuration: "200ms",
		kubetest.AnnotationExitCode: "137",
		kubetest.AnnotationReason:   "OOMKilled",
	})
	evicted := pod("evicted", "", 0, map[string]string{
		kubetest.AnnotationDuration:  "200ms",
		kubetest.AnnotationPodReason: "Evicted",
	})
	for _, p := range []*corev1.Pod{oom, evicted} {
		if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	done, err := env.WaitForPod(ctx, ns, "oom", kubetest.PodPhase(corev1.PodSucceeded, corev1.PodFailed))
	if err != nil {
		t.Fatal(err)
	}
	if term := terminated(t, done); done.Status.Phase != corev1.PodFailed || term.ExitCode != 137 || term.Reason != "OOMKilled" {
		t.Errorf("phase %s, terminated %+v; want Failed, 137, OOMKilled", done.Status.Phase, term)
	}
	done, err = env.WaitForPod(ctx, ns, "evicted", kubetest.PodPhase(corev1.PodSucceeded, corev1.PodFailed))
	if err != nil {
		t.Fatal(err)
	}
	if done.Status.Phase != corev1.PodFailed || done.Status.Reason != "Evicted" {
		t.Errorf("phase %s reason %q; want Failed, Evicted", done.Status.Phase, done.Status.Reason)
	}
}

func TestPodWaitingImagePullBackOff(t *testing.T) {
	env := kubetest.Need(t, kube)
	ns := env.Namespace(t)
	ctx := ctxFor(t, 60*time.Second)
	p := pod("badimage", "", 0, map[string]string{
		kubetest.AnnotationWaitingReason:  "ImagePullBackOff",
		kubetest.AnnotationWaitingMessage: `Back-off pulling image "pytorch:test"`,
	})
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := env.WaitForPod(ctx, ns, "badimage", func(p *corev1.Pod) (bool, error) {
		return len(p.Status.ContainerStatuses) > 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w := got.Status.ContainerStatuses[0].State.Waiting
	if got.Status.Phase != corev1.PodPending || w == nil || w.Reason != "ImagePullBackOff" || !strings.Contains(w.Message, "pytorch:test") {
		t.Errorf("phase %s, container state %+v", got.Status.Phase, got.Status.ContainerStatuses[0].State)
	}
}

func TestTooManyGPUsUnschedulable(t *testing.T) {
	env := kubetest.Need(t, kube)
	ns := env.Namespace(t)
	ctx := ctxFor(t, 60*time.Second)
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod("greedy", kubetest.ResourceGPU, 9, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := env.WaitForPod(ctx, ns, "greedy", func(p *corev1.Pod) (bool, error) {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != corev1.PodPending || got.Spec.NodeName != "" {
		t.Errorf("phase %s node %q, want Pending and unbound", got.Status.Phase, got.Spec.NodeName)
	}
	for _, c := range got.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			if c.Reason != corev1.PodReasonUnschedulable || !strings.Contains(c.Message, "Insufficient nvidia.com/gpu") {
				t.Errorf("PodScheduled condition = %+v", c)
			}
			t.Logf("scheduler says: %s", c.Message)
		}
	}
}

func TestRenamedResourceLandsOnA100(t *testing.T) {
	env := kubetest.Need(t, kube)
	ns := env.Namespace(t)
	ctx := ctxFor(t, 60*time.Second)
	p := pod("a100", kubetest.ResourceA100, 1, map[string]string{kubetest.AnnotationDuration: kubetest.DurationNever})
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := env.WaitForPod(ctx, ns, "a100", kubetest.PodPhase(corev1.PodRunning))
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.NodeName != kubetest.NodeA100 {
		t.Errorf("scheduled on %q, want %s", got.Spec.NodeName, kubetest.NodeA100)
	}
	// Deleting a running Pod removes it (kwok plays the kubelet).
	if err := env.Client.CoreV1().Pods(ns).Delete(ctx, "a100", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := env.Client.CoreV1().Pods(ns).Get(ctx, "a100", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("pod not removed after delete: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestServerSideDryRun(t *testing.T) {
	env := kubetest.Need(t, kube)
	ns := env.Namespace(t)
	ctx := ctxFor(t, 30*time.Second)
	got, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod("dry", kubetest.ResourceGPU, 2, nil),
		metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "dry" || got.Spec.SchedulerName == "" {
		t.Errorf("dry-run result lacks server defaults: name %q schedulerName %q", got.Name, got.Spec.SchedulerName)
	}
	if _, err := env.Client.CoreV1().Pods(ns).Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after dry run, get = %v, want NotFound", err)
	}
	bad := pod("dry-bad", kubetest.ResourceGPU, 1, nil)
	bad.Spec.Containers[0].Resources.Requests = corev1.ResourceList{kubetest.ResourceGPU: resource.MustParse("2")}
	_, err = env.Client.CoreV1().Pods(ns).Create(ctx, bad, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if !apierrors.IsInvalid(err) {
		t.Errorf("dry run of a pod requesting more GPUs than its limit: err = %v, want Invalid", err)
	}
}

func TestPodLogs(t *testing.T) {
	env := kubetest.Need(t, kube)
	ns := env.Namespace(t)
	ctx := ctxFor(t, 60*time.Second)
	if err := env.SetPodLog("epoch 1 loss 0.5", "epoch 2 loss 0.25"); err != nil {
		t.Fatal(err)
	}
	p := pod("logs", "", 0, map[string]string{kubetest.AnnotationDuration: kubetest.DurationNever})
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.WaitForPod(ctx, ns, "logs", kubetest.PodPhase(corev1.PodRunning)); err != nil {
		t.Fatal(err)
	}
	rc, err := env.Client.CoreV1().Pods(ns).GetLogs("logs", &corev1.PodLogOptions{Container: "main"}).Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if want := "epoch 1 loss 0.5\nepoch 2 loss 0.25\n"; string(data) != want {
		t.Errorf("logs = %q, want %q", data, want)
	}
	out, err := exec.CommandContext(ctx, env.Kubectl, "--kubeconfig", env.Kubeconfig, "-n", ns, "logs", "logs", "-c", "main").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "epoch 2 loss 0.25") {
		t.Errorf("kubectl logs: %v\n%s", err, out)
	}

	// Following: lines appended later arrive on the open stream.
	fctx, fcancel := context.WithTimeout(ctx, 20*time.Second)
	defer fcancel()
	rc, err = env.Client.CoreV1().Pods(ns).GetLogs("logs", &corev1.PodLogOptions{Container: "main", Follow: true}).Stream(fctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	lines := make(chan string, 10)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(rc)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func() string {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("log stream ended")
			}
			return l
		case <-fctx.Done():
			t.Fatalf("no log line: %v", fctx.Err())
		}
		return ""
	}
	for _, want := range []string{"epoch 1 loss 0.5", "epoch 2 loss 0.25"} {
		if got := next(); got != want {
			t.Errorf("followed line = %q, want %q", got, want)
		}
	}
	if err := env.AppendPodLog("epoch 3 loss 0.125"); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "epoch 3 loss 0.125" {
		t.Errorf("appended line = %q", got)
	}
	fcancel()

	// A container of its own: set its log before the Pod exists.
	if err := env.SetContainerLog(ctx, ns, "own-logs", "main", "only for own-logs"); err != nil {
		t.Fatal(err)
	}
	p = pod("own-logs", "", 0, map[string]string{kubetest.AnnotationDuration: "200ms"})
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.WaitForPod(ctx, ns, "own-logs", kubetest.PodPhase(corev1.PodSucceeded)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ container, want string }{
		{"main", "only for own-logs\n"},
		{"clone", "epoch 1 loss 0.5\nepoch 2 loss 0.25\nepoch 3 loss 0.125\n"},
	} {
		data, err := env.Client.CoreV1().Pods(ns).GetLogs("own-logs", &corev1.PodLogOptions{Container: c.container}).DoRaw(ctx)
		if err != nil {
			t.Fatalf("logs of %s: %v", c.container, err)
		}
		if string(data) != c.want {
			t.Errorf("logs of %s = %q, want %q", c.container, data, c.want)
		}
	}
}

// TestWatchSurvivesAPIServerRestart restarts kube-apiserver while an
// informer watches Pods, then checks that the informer, the scheduler and
// kwok all carry on with the new one.
func TestWatchSurvivesAPIServerRestart(t *testing.T) {
	env := kubetest.Need(t, kube)
	ns := env.Namespace(t)
	ctx := ctxFor(t, 120*time.Second)

	phases := make(chan corev1.PodPhase, 100)
	lw := cache.NewListWatchFromClient(env.Client.CoreV1().RESTClient(), "pods", ns, fields.Everything())
	_, informer := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw,
		ObjectType:    &corev1.Pod{},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { phases <- obj.(*corev1.Pod).Status.Phase },
			UpdateFunc: func(_, obj any) { phases <- obj.(*corev1.Pod).Status.Phase },
		},
	})
	go informer.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		t.Fatal("informer did not sync")
	}

	env.RestartAPIServer(t)

	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod("after-restart", kubetest.ResourceGPU, 1,
		map[string]string{kubetest.AnnotationDuration: "1s"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case ph := <-phases:
			if ph == corev1.PodSucceeded {
				return
			}
		case <-ctx.Done():
			t.Fatalf("informer never saw the pod succeed after the restart: %v", ctx.Err())
		}
	}
}

// TestStartOwnControlPlane starts a second, private control plane with Start
// (no scheduler, one node), with ETCD_* variables in the environment that
// would break etcd if they reached it.
func TestStartOwnControlPlane(t *testing.T) {
	t.Setenv("ETCD_DATA_DIR", "/nonexistent/etcd")
	t.Setenv("ETCD_QUOTA_BACKEND_BYTES", "1")
	env := kubetest.Start(t, kubetest.WithoutScheduler(), kubetest.WithNodes(kubetest.FakeNode("solo", nil, nil)))
	t.Logf("private control plane started in %s", env.StartupTime)
	ns := env.Namespace(t)
	ctx := ctxFor(t, 60*time.Second)
	p := pod("pinned", "", 0, map[string]string{kubetest.AnnotationDuration: "100ms"})
	p.Spec.NodeName = "solo"
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.WaitForPod(ctx, ns, "pinned", kubetest.PodPhase(corev1.PodSucceeded)); err != nil {
		t.Fatal(err)
	}
	unbound := pod("unbound", "", 0, nil)
	if _, err := env.Client.CoreV1().Pods(ns).Create(ctx, unbound, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	got, err := env.Client.CoreV1().Pods(ns).Get(ctx, "unbound", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.NodeName != "" || got.Status.Phase != corev1.PodPending {
		t.Errorf("without a scheduler the pod is on %q in phase %s", got.Spec.NodeName, got.Status.Phase)
	}
}
