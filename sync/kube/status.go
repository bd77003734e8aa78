package kube

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// seen is what a follower knows besides the Pod itself.
type seen struct {
	// Cancelled: our Cancel deleted the Pod.
	Cancelled bool
	Now       time.Time
	// TroubleSince is when the current start trouble (an image that cannot
	// be pulled, a container that cannot be created) was first seen; zero
	// when there is none yet.
	TroubleSince time.Time
	Grace        time.Duration
}

// verdict is what a Pod's status means for its run.
type verdict struct {
	engine.Update
	// Trouble: a start problem that may pass (image pull back-off); the
	// run fails with Update's reason once it lasted Grace.
	Trouble bool
	// CloneFailed: the clone init container failed; its log belongs in
	// the run's log.
	CloneFailed bool
	// Started: the job container has started (its log can be read).
	Started bool
}

// classify maps a Pod (nil: gone) to its run's state. It is pure: the
// follower keeps the history it needs in s.
func classify(p *corev1.Pod, s seen) verdict {
	if p == nil {
		if s.Cancelled {
			return verdict{Update: engine.Update{State: engine.StateCancelled, Reason: "cancelled"}}
		}
		return verdict{Update: engine.Update{State: engine.StateError, Retryable: true,
			Reason: "node lost: the Pod disappeared before it finished (deleted outside gitlaunch)"}}
	}
	job := containerStatus(p.Status.ContainerStatuses, render.ContainerJob, p)
	started := job != nil && (job.State.Running != nil || job.State.Terminated != nil || job.LastTerminationState.Terminated != nil)
	v := classifyPod(p, job, s)
	v.Started = started
	if s.Cancelled && (v.State.Terminal() || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed) {
		// A deleted Pod's containers are killed: whatever they report
		// then is the cancellation.
		return verdict{Update: engine.Update{State: engine.StateCancelled, Reason: "cancelled", At: v.At}, Started: started}
	}
	return v
}

func classifyPod(p *corev1.Pod, job *corev1.ContainerStatus, s seen) verdict {
	switch p.Status.Phase {
	case corev1.PodSucceeded:
		return verdict{Update: engine.Update{State: engine.StateSucceeded, ExitCode: exitCode(job), At: finishedAt(job)}}
	case corev1.PodFailed:
		return failed(p, job)
	}
	if v, ok := cloneFailed(p); ok {
		return v
	}
	if job != nil {
		switch st := job.State; {
		case st.Running != nil:
			return verdict{Update: engine.Update{State: engine.StateRunning, Reason: onNode(p), At: st.Running.StartedAt.Time}}
		case st.Terminated != nil:
			// The phase follows in a moment; until then it still runs.
			return verdict{Update: engine.Update{State: engine.StateRunning, Reason: onNode(p), At: st.Terminated.StartedAt.Time}}
		case st.Waiting != nil:
			if v, ok := waiting(p, render.ContainerJob, st.Waiting, s); ok {
				return v
			}
		}
	}
	for i := range p.Status.InitContainerStatuses {
		cs := &p.Status.InitContainerStatuses[i]
		switch {
		case cs.State.Waiting != nil:
			if v, ok := waiting(p, cs.Name, cs.State.Waiting, s); ok {
				return v
			}
		case cs.State.Running != nil && cs.Name == render.ContainerClone:
			return pending("cloning the repository" + onNodeSuffix(p))
		}
	}
	if p.Status.Phase == corev1.PodRunning {
		return verdict{Update: engine.Update{State: engine.StateRunning, Reason: onNode(p)}}
	}
	if c := condition(p, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse {
		if c.Reason == corev1.PodReasonUnschedulable {
			return pending(unschedulable(p, c.Message))
		}
		return pending(strings.TrimSpace("waiting to be scheduled: " + schedulerMessage(c.Message)))
	}
	if p.Spec.NodeName == "" {
		return pending("waiting to be scheduled")
	}
	return pending("starting" + onNodeSuffix(p))
}

func pending(reason string) verdict {
	return verdict{Update: engine.Update{State: engine.StatePending, Reason: strings.TrimSuffix(reason, ": ")}}
}

func onNode(p *corev1.Pod) string {
	if p.Spec.NodeName == "" {
		return "running"
	}
	return "running on " + p.Spec.NodeName
}

func onNodeSuffix(p *corev1.Pod) string {
	if p.Spec.NodeName == "" {
		return ""
	}
	return " on " + p.Spec.NodeName
}

// failed explains a Pod in phase Failed. Infrastructure reasons come
// first: a Pod that was evicted or lost its node also has containers that
// were killed, and that exit code is not the job's fault.
func failed(p *corev1.Pod, job *corev1.ContainerStatus) verdict {
	at := finishedAt(job)
	infra := func(reason string) verdict {
		return verdict{Update: engine.Update{State: engine.StateError, Reason: reason, Retryable: true, At: at}}
	}
	msg := strings.TrimSpace(p.Status.Message)
	switch p.Status.Reason {
	case "DeadlineExceeded":
		limit := "its time limit"
		if d := p.Spec.ActiveDeadlineSeconds; d != nil {
			limit = "its limit of " + (time.Duration(*d) * time.Second).String()
		}
		return verdict{Update: engine.Update{State: engine.StateTimedOut, Reason: "timed out: ran longer than " + limit, ExitCode: exitCode(job), At: at}}
	case "Evicted":
		return infra(withDetail("evicted", msg))
	case "NodeLost", "Terminated", "Shutdown", "NodeShutdown":
		// Terminated/Shutdown: the kubelet's graceful node shutdown.
		return infra(withDetail("node lost", msg))
	case "UnexpectedAdmissionError", "NodeAffinity", "NodeAffinityMismatch":
		return infra(withDetail("the node refused the Pod ("+p.Status.Reason+")", msg))
	}
	if strings.HasPrefix(p.Status.Reason, "OutOf") { // kubelet admission: OutOfcpu, OutOfnvidia.com/gpu
		return infra(withDetail("the node refused the Pod ("+p.Status.Reason+")", msg))
	}
	if c := condition(p, corev1.DisruptionTarget); c != nil && c.Status == corev1.ConditionTrue {
		return infra(disruption(c))
	}
	if v, ok := cloneFailed(p); ok {
		return v
	}
	if job != nil {
		if t := job.State.Terminated; t != nil {
			code := int(t.ExitCode)
			if t.Reason == "OOMKilled" {
				return verdict{Update: engine.Update{State: engine.StateFailed, ExitCode: &code, At: at,
					Reason: "out of memory (OOMKilled; " + memoryLimit(p) + ")"}}
			}
			if code != 0 {
				return verdict{Update: engine.Update{State: engine.StateFailed, ExitCode: &code, At: at,
					Reason: fmt.Sprintf("exit code %d", code)}}
			}
		}
	}
	what := "the Pod failed"
	if job == nil || job.State.Terminated == nil {
		what = "the Pod failed before the job ran"
	}
	return verdict{Update: engine.Update{State: engine.StateError, At: at,
		Reason: withDetail(what, strings.Trim(p.Status.Reason+": "+msg, ": "))}}
}

// disruption names why Kubernetes took the Pod away (the DisruptionTarget
// condition's reasons).
func disruption(c *corev1.PodCondition) string {
	switch c.Reason {
	case "PreemptionByScheduler":
		return "preempted by a higher-priority Pod"
	case "DeletionByTaintManager":
		return "node lost: the node became unreachable or was tainted NoExecute"
	case "DeletionByPodGC":
		return "node lost: the node is gone"
	case "EvictionByEvictionAPI":
		return "evicted (eviction API, e.g. a node drain)"
	case "TerminationByKubelet":
		return withDetail("stopped by the node", c.Message)
	}
	return withDetail("disrupted ("+c.Reason+")", c.Message)
}

// cloneFailed reports a clone init container that ended non-zero.
func cloneFailed(p *corev1.Pod) (verdict, bool) {
	cs := containerStatus(p.Status.InitContainerStatuses, render.ContainerClone, nil)
	if cs == nil || cs.State.Terminated == nil || cs.State.Terminated.ExitCode == 0 {
		return verdict{}, false
	}
	t := cs.State.Terminated
	detail := strings.TrimSpace(t.Message)
	if detail == "" {
		detail = fmt.Sprintf("exit code %d", t.ExitCode)
		if t.Reason != "" && t.Reason != "Error" {
			detail += " (" + t.Reason + ")"
		}
	}
	return verdict{Update: engine.Update{State: engine.StateError, Reason: "clone failed: " + firstLines(detail, 3), At: t.FinishedAt.Time},
		CloneFailed: true}, true
}

// waiting explains a container that cannot start yet. ok is false for the
// ordinary waits (ContainerCreating, PodInitializing), which the caller
// explains from the Pod.
func waiting(p *corev1.Pod, container string, w *corev1.ContainerStateWaiting, s seen) (verdict, bool) {
	image := containerImage(p, container)
	msg := strings.TrimSpace(w.Message)
	switch w.Reason {
	case "InvalidImageName", "ErrImageNeverPull", "ImageInspectError", "SignatureValidationFailed":
		return verdict{Update: engine.Update{State: engine.StateError,
			Reason: withDetail(fmt.Sprintf("cannot pull image %q (%s)", image, w.Reason), msg)}}, true
	case "ErrImagePull", "ImagePullBackOff", "RegistryUnavailable":
		if !s.TroubleSince.IsZero() && s.Now.Sub(s.TroubleSince) >= s.Grace {
			return verdict{Update: engine.Update{State: engine.StateError,
				Reason: withDetail(fmt.Sprintf("image pull failed: cannot pull image %q for %s", image, s.Grace), msg)}}, true
		}
		// One wording for ErrImagePull and ImagePullBackOff, which
		// alternate while the kubelet retries.
		return verdict{Update: engine.Update{State: engine.StatePending,
			Reason: fmt.Sprintf("cannot pull image %q yet (retrying for up to %s)", image, s.Grace)}, Trouble: true}, true
	case "CreateContainerConfigError", "CreateContainerError":
		if !s.TroubleSince.IsZero() && s.Now.Sub(s.TroubleSince) >= s.Grace {
			return verdict{Update: engine.Update{State: engine.StateError,
				Reason: withDetail("cannot start container "+container, msg)}}, true
		}
		return verdict{Update: engine.Update{State: engine.StatePending,
			Reason: withDetail("cannot start container "+container+" yet", msg)}, Trouble: true}, true
	}
	return verdict{}, false
}

// memoryLimit describes the job container's memory limit.
func memoryLimit(p *corev1.Pod) string {
	for _, c := range p.Spec.Containers {
		if c.Name != render.ContainerJob {
			continue
		}
		if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
			return "limit " + q.String()
		}
	}
	return "no memory limit"
}

// containerStatus finds name in list; with p given and no such name, the
// only container's status (an admin template may rename nothing else).
func containerStatus(list []corev1.ContainerStatus, name string, p *corev1.Pod) *corev1.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	if p != nil && len(list) == 1 && len(p.Spec.Containers) == 1 {
		return &list[0]
	}
	return nil
}

func containerImage(p *corev1.Pod, name string) string {
	for _, cs := range [][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
		for _, c := range cs {
			if c.Name == name {
				return c.Image
			}
		}
	}
	return "?"
}

func condition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func exitCode(cs *corev1.ContainerStatus) *int {
	if cs == nil || cs.State.Terminated == nil {
		return nil
	}
	c := int(cs.State.Terminated.ExitCode)
	return &c
}

func finishedAt(cs *corev1.ContainerStatus) time.Time {
	if cs == nil || cs.State.Terminated == nil {
		return time.Time{}
	}
	return cs.State.Terminated.FinishedAt.Time
}

func withDetail(what, detail string) string {
	detail = strings.TrimSpace(detail)
	if detail == "" {
		return what
	}
	return what + ": " + detail
}

// firstLines keeps the first n lines of s (termination messages may hold a
// log tail).
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n")
}
