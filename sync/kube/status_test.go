package kube

import (
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// basePod is a run Pod as render makes it, before any status.
func basePod() *corev1.Pod {
	deadline := int64(3600)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "mnist-abc", Namespace: "runs"},
		Spec: corev1.PodSpec{
			ActiveDeadlineSeconds: &deadline,
			InitContainers:        []corev1.Container{{Name: "clone", Image: "ghcr.io/gitlaunch/gitlaunch:v1"}},
			Containers: []corev1.Container{{
				Name: "job", Image: "pytorch/pytorch:2.5.1",
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
					corev1.ResourceMemory: resource.MustParse("16Gi"),
					"nvidia.com/gpu":      resource.MustParse("1"),
				}},
			}},
		},
	}
}

type podEdit func(*corev1.Pod)

func phase(ph corev1.PodPhase) podEdit { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func node(n string) podEdit            { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
func cond(t corev1.PodConditionType, s corev1.ConditionStatus, reason, msg string) podEdit {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: s, Reason: reason, Message: msg})
	}
}
func podReason(r, msg string) podEdit {
	return func(p *corev1.Pod) { p.Status.Reason, p.Status.Message = r, msg }
}
func jobState(st corev1.ContainerState) podEdit {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "job", State: st}}
	}
}
func cloneState(st corev1.ContainerState) podEdit {
	return func(p *corev1.Pod) {
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "clone", State: st}}
	}
}
func terminated(code int32, reason, msg string) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: msg}}
}
func waitingFor(reason, msg string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
}

var running = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}

func pod(edits ...podEdit) *corev1.Pod {
	p := basePod()
	for _, e := range edits {
		e(p)
	}
	return p
}

// anyCode: an infrastructure failure may carry the killed container's exit
// code; it is not the job's, and the test does not check it.
const anyCode = -1000

func TestClassify(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	grace := 5 * time.Minute
	fresh := seen{Now: now, Grace: grace}
	troubled := seen{Now: now, Grace: grace, TroubleSince: now.Add(-time.Minute)}
	expired := seen{Now: now, Grace: grace, TroubleSince: now.Add(-6 * time.Minute)}
	cancelled := seen{Now: now, Grace: grace, Cancelled: true}

	tests := []struct {
		name      string
		pod       *corev1.Pod
		s         seen
		state     engine.State
		reason    string
		code      int // -1: no exit code; anyCode: not checked
		retryable bool
		trouble   bool
		clone     bool
		started   bool
	}{
		{"new", pod(phase(corev1.PodPending)), fresh, engine.StatePending, "waiting to be scheduled", -1, false, false, false, false},
		{"no GPU free", pod(phase(corev1.PodPending), cond(corev1.PodScheduled, corev1.ConditionFalse, "Unschedulable",
			"0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.")),
			fresh, engine.StatePending, "waiting for GPUs: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.", -1, false, false, false, false},
		{"no GPU and no cpu", pod(phase(corev1.PodPending), cond(corev1.PodScheduled, corev1.ConditionFalse, "Unschedulable",
			"0/3 nodes are available: 1 Insufficient cpu, 2 Insufficient nvidia.com/gpu.")),
			fresh, engine.StatePending, "waiting for GPUs: 0/3 nodes are available: 1 Insufficient cpu, 2 Insufficient nvidia.com/gpu.", -1, false, false, false, false},
		{"cpu only", pod(phase(corev1.PodPending), cond(corev1.PodScheduled, corev1.ConditionFalse, "Unschedulable",
			"0/1 nodes are available: 1 Insufficient cpu.")),
			fresh, engine.StatePending, "waiting for resources: 0/1 nodes are available: 1 Insufficient cpu.", -1, false, false, false, false},
		{"selector", pod(phase(corev1.PodPending), cond(corev1.PodScheduled, corev1.ConditionFalse, "Unschedulable",
			"0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.")),
			fresh, engine.StatePending, "waiting for a node: 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.", -1, false, false, false, false},
		{"bound", pod(phase(corev1.PodPending), node("gpu-0")), fresh, engine.StatePending, "starting on gpu-0", -1, false, false, false, false},
		{"cloning", pod(phase(corev1.PodPending), node("gpu-0"), cloneState(running), jobState(waitingFor("PodInitializing", ""))),
			fresh, engine.StatePending, "cloning the repository on gpu-0", -1, false, false, false, false},
		{"image pull back-off", pod(phase(corev1.PodPending), node("gpu-0"), jobState(waitingFor("ImagePullBackOff", `Back-off pulling image "pytorch/pytorch:2.5.1"`))),
			troubled, engine.StatePending, `cannot pull image "pytorch/pytorch:2.5.1" yet (retrying for up to 5m0s)`, -1, false, true, false, false},
		{"err image pull same words", pod(phase(corev1.PodPending), node("gpu-0"), jobState(waitingFor("ErrImagePull", "rpc error: not found"))),
			fresh, engine.StatePending, `cannot pull image "pytorch/pytorch:2.5.1" yet (retrying for up to 5m0s)`, -1, false, true, false, false},
		{"image pull gives up", pod(phase(corev1.PodPending), node("gpu-0"), jobState(waitingFor("ImagePullBackOff", "Back-off pulling image"))),
			expired, engine.StateError, `image pull failed: cannot pull image "pytorch/pytorch:2.5.1" for 5m0s: Back-off pulling image`, -1, false, false, false, false},
		{"invalid image", pod(phase(corev1.PodPending), node("gpu-0"), jobState(waitingFor("InvalidImageName", "bad name"))),
			fresh, engine.StateError, `cannot pull image "pytorch/pytorch:2.5.1" (InvalidImageName): bad name`, -1, false, false, false, false},
		{"clone image pull", pod(phase(corev1.PodPending), node("gpu-0"), cloneState(waitingFor("ErrImagePull", "x"))),
			fresh, engine.StatePending, `cannot pull image "ghcr.io/gitlaunch/gitlaunch:v1" yet (retrying for up to 5m0s)`, -1, false, true, false, false},
		{"config error", pod(phase(corev1.PodPending), node("gpu-0"), jobState(waitingFor("CreateContainerConfigError", `secret "s" not found`))),
			fresh, engine.StatePending, `cannot start container job yet: secret "s" not found`, -1, false, true, false, false},
		{"config error gives up", pod(phase(corev1.PodPending), node("gpu-0"), jobState(waitingFor("CreateContainerConfigError", `secret "s" not found`))),
			expired, engine.StateError, `cannot start container job: secret "s" not found`, -1, false, false, false, false},
		{"clone failed pending", pod(phase(corev1.PodPending), node("gpu-0"), cloneState(terminated(2, "Error", "fatal: commit abc not found\nhint: push it\nmore\nand more"))),
			fresh, engine.StateError, "clone failed: fatal: commit abc not found\nhint: push it\nmore\n…", -1, false, false, true, false},
		{"clone failed", pod(phase(corev1.PodFailed), node("gpu-0"), cloneState(terminated(128, "Error", ""))),
			fresh, engine.StateError, "clone failed: exit code 128", -1, false, false, true, false},
		{"running", pod(phase(corev1.PodRunning), node("gpu-0"), jobState(running)), fresh, engine.StateRunning, "running on gpu-0", -1, false, false, false, true},
		{"job ended, phase not yet", pod(phase(corev1.PodRunning), node("gpu-0"), jobState(terminated(0, "Completed", ""))),
			fresh, engine.StateRunning, "running on gpu-0", -1, false, false, false, true},
		{"succeeded", pod(phase(corev1.PodSucceeded), node("gpu-0"), jobState(terminated(0, "Completed", ""))),
			fresh, engine.StateSucceeded, "", 0, false, false, false, true},
		{"exit code", pod(phase(corev1.PodFailed), node("gpu-0"), jobState(terminated(3, "Error", "Traceback..."))),
			fresh, engine.StateFailed, "exit code 3", 3, false, false, false, true},
		{"oom", pod(phase(corev1.PodFailed), node("gpu-0"), jobState(terminated(137, "OOMKilled", ""))),
			fresh, engine.StateFailed, "out of memory (OOMKilled; limit 16Gi)", 137, false, false, false, true},
		{"deadline", pod(phase(corev1.PodFailed), node("gpu-0"), podReason("DeadlineExceeded", "Pod was active on the node longer than the specified deadline"), jobState(terminated(137, "Error", ""))),
			fresh, engine.StateTimedOut, "timed out: ran longer than its limit of 1h0m0s", 137, false, false, false, true},
		{"evicted", pod(phase(corev1.PodFailed), node("gpu-0"), podReason("Evicted", "The node was low on resource: memory."), jobState(terminated(137, "Error", ""))),
			fresh, engine.StateError, "evicted: The node was low on resource: memory.", anyCode, true, false, false, true},
		{"preempted", pod(phase(corev1.PodFailed), node("gpu-0"), cond(corev1.DisruptionTarget, corev1.ConditionTrue, "PreemptionByScheduler", "x"), jobState(terminated(137, "Error", ""))),
			fresh, engine.StateError, "preempted by a higher-priority Pod", anyCode, true, false, false, true},
		{"taint manager", pod(phase(corev1.PodFailed), node("gpu-0"), cond(corev1.DisruptionTarget, corev1.ConditionTrue, "DeletionByTaintManager", "x"), jobState(running)),
			fresh, engine.StateError, "node lost: the node became unreachable or was tainted NoExecute", -1, true, false, false, true},
		{"node shutdown", pod(phase(corev1.PodFailed), node("gpu-0"), podReason("Terminated", "Pod was terminated in response to imminent node shutdown.")),
			fresh, engine.StateError, "node lost: Pod was terminated in response to imminent node shutdown.", -1, true, false, false, false},
		{"admission", pod(phase(corev1.PodFailed), node("gpu-0"), podReason("OutOfnvidia.com/gpu", "Node didn't have enough resource")),
			fresh, engine.StateError, "the node refused the Pod (OutOfnvidia.com/gpu): Node didn't have enough resource", -1, true, false, false, false},
		{"failed otherwise", pod(phase(corev1.PodFailed), node("gpu-0"), podReason("Weird", "it broke")),
			fresh, engine.StateError, "the Pod failed before the job ran: Weird: it broke", -1, false, false, false, false},
		{"gone", nil, fresh, engine.StateError, "node lost: the Pod disappeared before it finished (deleted outside gitlaunch)", -1, true, false, false, false},
		{"gone after cancel", nil, cancelled, engine.StateCancelled, "cancelled", -1, false, false, false, false},
		{"killed after cancel", pod(phase(corev1.PodFailed), node("gpu-0"), jobState(terminated(143, "Error", ""))),
			cancelled, engine.StateCancelled, "cancelled", -1, false, false, false, true},
		{"running while cancel pends", pod(phase(corev1.PodRunning), node("gpu-0"), jobState(running)),
			cancelled, engine.StateRunning, "running on gpu-0", -1, false, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := classify(tt.pod, tt.s)
			if v.State != tt.state || v.Reason != tt.reason {
				t.Errorf("got %s %q\nwant %s %q", v.State, v.Reason, tt.state, tt.reason)
			}
			if v.Retryable != tt.retryable || v.Trouble != tt.trouble || v.CloneFailed != tt.clone || v.Started != tt.started {
				t.Errorf("retryable/trouble/clone/started = %v/%v/%v/%v, want %v/%v/%v/%v",
					v.Retryable, v.Trouble, v.CloneFailed, v.Started, tt.retryable, tt.trouble, tt.clone, tt.started)
			}
			switch {
			case tt.code == anyCode:
			case tt.code < 0:
				if v.ExitCode != nil {
					t.Errorf("exit code %d, want none", *v.ExitCode)
				}
			default:
				if v.ExitCode == nil || *v.ExitCode != tt.code {
					t.Errorf("exit code %v, want %d", v.ExitCode, tt.code)
				}
			}
		})
	}
}

func TestUnschedulableNamesOnlyRequestedGPUResources(t *testing.T) {
	p := basePod()
	p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"nvidia.com/a100": resource.MustParse("1")}
	got := unschedulable(p, "0/2 nodes are available: 1 Insufficient nvidia.com/a100, 1 Insufficient example.com/fpga.")
	want := "waiting for GPUs: 0/2 nodes are available: 1 Insufficient nvidia.com/a100, 1 Insufficient example.com/fpga."
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	got = unschedulable(p, "0/1 nodes are available: 1 Insufficient example.com/fpga.")
	if want := "waiting for resources: 0/1 nodes are available: 1 Insufficient example.com/fpga."; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := unschedulable(p, ""); got != "waiting for a node: no node fits" {
		t.Errorf("empty message: %q", got)
	}
}
