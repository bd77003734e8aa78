package render

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gitlaunch/gitlaunch/schema"
)

// resources renders the job's requests onto the base container's (see the
// package doc for why cpu has no limit and memory's limit equals its
// request).
func (r *renderer) resources(base corev1.ResourceRequirements) (corev1.ResourceRequirements, error) {
	res := *base.DeepCopy()
	if res.Requests == nil {
		res.Requests = corev1.ResourceList{}
	}
	if res.Limits == nil {
		res.Limits = corev1.ResourceList{}
	}
	want := r.job.Resources
	if want.CPU != "" {
		q, err := resource.ParseQuantity(want.CPU)
		if err != nil {
			return res, fmt.Errorf("resources.cpu %q: %w", want.CPU, err)
		}
		res.Requests[corev1.ResourceCPU] = q
		delete(res.Limits, corev1.ResourceCPU)
	}
	if want.Memory != "" {
		q, err := resource.ParseQuantity(want.Memory)
		if err != nil {
			return res, fmt.Errorf("resources.memory %q: %w", want.Memory, err)
		}
		res.Requests[corev1.ResourceMemory] = q
		res.Limits[corev1.ResourceMemory] = q.DeepCopy()
	}
	for _, name := range r.gpuResourceNames() {
		delete(res.Requests, name)
		delete(res.Limits, name)
	}
	if want.GPU < 0 {
		return res, fmt.Errorf("resources.gpu %d: must not be negative", want.GPU)
	}
	if want.GPU > 0 {
		model, err := r.gpuModel()
		if err != nil {
			return res, err
		}
		name := corev1.ResourceName(firstNonEmpty(model.Resource, r.cfg.GPUResource, DefaultGPUResource))
		res.Limits[name] = *resource.NewQuantity(int64(want.GPU), resource.DecimalSI)
	}
	if len(res.Requests) == 0 {
		res.Requests = nil
	}
	if len(res.Limits) == 0 {
		res.Limits = nil
	}
	return res, nil
}

// gpuModel is the config's entry for the job's gpuModel (zero when the job
// names none).
func (r *renderer) gpuModel() (schema.GPUModel, error) {
	name := r.job.Resources.GPUModel
	if name == "" {
		return schema.GPUModel{}, nil
	}
	m, ok := r.cfg.GPUModels[name]
	if !ok {
		known := slices.Sorted(maps.Keys(r.cfg.GPUModels))
		return m, fmt.Errorf("resources.gpuModel %q: not in the cluster config (known: %v)", name, known)
	}
	return m, nil
}

// gpuResourceNames are the extended resources gitlaunch owns: the default
// GPU resource and every model's.
func (r *renderer) gpuResourceNames() []corev1.ResourceName {
	names := []corev1.ResourceName{corev1.ResourceName(firstNonEmpty(r.cfg.GPUResource, DefaultGPUResource))}
	for _, m := range r.cfg.GPUModels {
		if m.Resource != "" {
			names = append(names, corev1.ResourceName(m.Resource))
		}
	}
	return names
}

// gpuNodeSelector merges the GPU model's node selector into the Pod's
// (gitlaunch's keys win).
func (r *renderer) gpuNodeSelector() error {
	if r.job.Resources.GPU <= 0 {
		return nil
	}
	model, err := r.gpuModel()
	if err != nil {
		return err
	}
	if len(model.NodeSelector) == 0 {
		return nil
	}
	spec := &r.pod.Spec
	if spec.NodeSelector == nil {
		spec.NodeSelector = map[string]string{}
	}
	maps.Copy(spec.NodeSelector, model.NodeSelector)
	return nil
}
