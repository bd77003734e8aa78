package kube

import (
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// insufficient finds the resources the scheduler says no node has enough
// of: "0/3 nodes are available: 1 Insufficient cpu, 2 Insufficient
// nvidia.com/gpu." Resource names hold no spaces or commas.
var insufficient = regexp.MustCompile(`Insufficient (\S+?)[,.]?(?:\s|$)`)

// unschedulable explains why the scheduler cannot place the Pod, naming
// GPUs when an extended resource the job asks for is what is missing.
func unschedulable(p *corev1.Pod, message string) string {
	msg := schedulerMessage(message)
	if msg == "" {
		msg = "no node fits"
	}
	var gpu, other bool
	for _, m := range insufficient.FindAllStringSubmatch(msg, -1) {
		if isExtended(corev1.ResourceName(m[1])) && requests(p, corev1.ResourceName(m[1])) {
			gpu = true
		} else {
			other = true
		}
	}
	switch {
	case gpu:
		return "waiting for GPUs: " + msg
	case other:
		return "waiting for resources: " + msg
	}
	return "waiting for a node: " + msg
}

// schedulerMessage drops the scheduler's preemption postscript, which
// repeats the node count and says nothing a person can act on.
func schedulerMessage(m string) string {
	m = strings.TrimSpace(m)
	if i := strings.Index(m, " preemption:"); i >= 0 {
		m = m[:i]
	}
	return strings.TrimSpace(m)
}

// isExtended: not one of Kubernetes' own resources (cpu, memory, storage,
// hugepages, pods). GPUs are device-plugin resources such as
// nvidia.com/gpu or nvidia.com/a100.
func isExtended(r corev1.ResourceName) bool {
	s := string(r)
	if !strings.Contains(s, "/") || strings.HasPrefix(s, "kubernetes.io/") || strings.HasPrefix(s, "requests.") {
		return false
	}
	return !strings.HasPrefix(s, corev1.ResourceHugePagesPrefix)
}

// requests reports whether any container of p asks for r.
func requests(p *corev1.Pod, r corev1.ResourceName) bool {
	for _, cs := range [][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
		for _, c := range cs {
			if _, ok := c.Resources.Limits[r]; ok {
				return true
			}
			if _, ok := c.Resources.Requests[r]; ok {
				return true
			}
		}
	}
	return false
}
