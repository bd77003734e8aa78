package kubetest

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// FakeNodeAnnotation marks the nodes kwok manages (kwok is started with
	// --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake).
	FakeNodeAnnotation = "kwok.x-k8s.io/node"
	// FakeNodeValue is the value of FakeNodeAnnotation.
	FakeNodeValue = "fake"

	// GPUProductLabel is the label NVIDIA's GPU feature discovery puts on
	// nodes, naming the GPU model.
	GPUProductLabel = "nvidia.com/gpu.product"

	// Names of the default nodes.
	NodeCPU     = "cpu-0"
	NodeA100    = "gpu-a100-0"
	NodeH100    = "gpu-h100-0"
	H100Product = "NVIDIA-H100-80GB-HBM3"

	// Extended resources of the default GPU nodes: a renamed device-plugin
	// resource on the A100 node, the plain one on the H100 node.
	ResourceA100 corev1.ResourceName = "nvidia.com/a100"
	ResourceGPU  corev1.ResourceName = "nvidia.com/gpu"
)

// FakeNode returns a Node for kwok to manage: annotated, without taints, with
// the given capacity (allocatable is the same) and labels. Missing cpu,
// memory and pods capacity is filled in.
func FakeNode(name string, capacity corev1.ResourceList, labels map[string]string) *corev1.Node {
	lbl := map[string]string{
		"kubernetes.io/hostname": name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
		"type":                   "kwok",
	}
	for k, v := range labels {
		lbl[k] = v
	}
	capy := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("32"),
		corev1.ResourceMemory:           resource.MustParse("256Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("1Ti"),
	}
	for k, v := range capacity {
		capy[k] = v
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Labels:      lbl,
			Annotations: map[string]string{FakeNodeAnnotation: FakeNodeValue},
		},
		Status: corev1.NodeStatus{
			Capacity:    capy,
			Allocatable: capy.DeepCopy(),
		},
	}
}

// DefaultNodes are the nodes Start creates unless told otherwise: a CPU node,
// an A100 node exposing 8 "nvidia.com/a100" (a renamed device-plugin
// resource), and an H100 node exposing 8 "nvidia.com/gpu" and labelled
// nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3.
func DefaultNodes() []*corev1.Node {
	return []*corev1.Node{
		FakeNode(NodeCPU, corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("32"),
			corev1.ResourceMemory: resource.MustParse("128Gi"),
		}, nil),
		FakeNode(NodeA100, corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("96"),
			corev1.ResourceMemory: resource.MustParse("1Ti"),
			ResourceA100:          resource.MustParse("8"),
		}, nil),
		FakeNode(NodeH100, corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("192"),
			corev1.ResourceMemory: resource.MustParse("2Ti"),
			ResourceGPU:           resource.MustParse("8"),
		}, map[string]string{GPUProductLabel: H100Product}),
	}
}
