package render

import (
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// podProblems checks what the kube-apiserver checks of the parts render
// writes: names, labels, annotations, volumes, mounts, env, resources.
func podProblems(pod *corev1.Pod) []string {
	var ps []string
	add := func(where string, msgs []string) {
		for _, m := range msgs {
			ps = append(ps, where+": "+m)
		}
	}
	addErrs := func(errs field.ErrorList) {
		for _, e := range errs {
			ps = append(ps, e.Error())
		}
	}
	if pod.APIVersion != "v1" || pod.Kind != "Pod" {
		ps = append(ps, "typeMeta: "+pod.APIVersion+"/"+pod.Kind)
	}
	add("metadata.name "+pod.Name, validation.IsDNS1123Label(pod.Name))
	if pod.Namespace != "" {
		add("metadata.namespace", validation.IsDNS1123Label(pod.Namespace))
	}
	addErrs(metavalidation.ValidateLabels(pod.Labels, field.NewPath("metadata", "labels")))
	addErrs(apivalidation.ValidateAnnotations(pod.Annotations, field.NewPath("metadata", "annotations")))
	addErrs(metavalidation.ValidateLabels(pod.Spec.NodeSelector, field.NewPath("spec", "nodeSelector")))

	spec := pod.Spec
	if spec.RestartPolicy != corev1.RestartPolicyNever {
		ps = append(ps, "restartPolicy: "+string(spec.RestartPolicy))
	}
	if spec.ActiveDeadlineSeconds == nil || *spec.ActiveDeadlineSeconds <= 0 {
		ps = append(ps, "activeDeadlineSeconds: not positive")
	}

	volumes := map[string]bool{}
	for i, v := range spec.Volumes {
		where := fmt.Sprintf("volumes[%d] %q", i, v.Name)
		add(where, validation.IsDNS1123Label(v.Name))
		if volumes[v.Name] {
			ps = append(ps, where+": duplicate name")
		}
		volumes[v.Name] = true
		if n := countSources(v.VolumeSource); n != 1 {
			ps = append(ps, fmt.Sprintf("%s: %d sources", where, n))
		}
	}

	names := map[string]bool{}
	check := func(kind string, c corev1.Container) {
		where := kind + " " + c.Name
		add(where, validation.IsDNS1123Label(c.Name))
		if names[c.Name] {
			ps = append(ps, where+": duplicate container name")
		}
		names[c.Name] = true
		if c.Image == "" {
			ps = append(ps, where+": no image")
		}
		envs := map[string]bool{}
		for _, e := range c.Env {
			add(where+" env "+e.Name, validation.IsEnvVarName(e.Name))
			if envs[e.Name] {
				ps = append(ps, where+" env "+e.Name+": duplicate")
			}
			envs[e.Name] = true
			if e.ValueFrom != nil && e.Value != "" {
				ps = append(ps, where+" env "+e.Name+": value and valueFrom")
			}
			if ref := secretRef(e); ref != nil {
				add(where+" env "+e.Name+" secret", validation.IsDNS1123Subdomain(ref.Name))
				add(where+" env "+e.Name+" key", validation.IsConfigMapKey(ref.Key))
			}
		}
		paths := map[string]bool{}
		for _, m := range c.VolumeMounts {
			mw := where + " mount " + m.MountPath
			if !volumes[m.Name] {
				ps = append(ps, mw+": no volume "+m.Name)
			}
			if m.MountPath == "" || paths[m.MountPath] {
				ps = append(ps, mw+": empty or duplicate mountPath")
			}
			paths[m.MountPath] = true
			if m.SubPath != "" && (path.IsAbs(m.SubPath) || strings.Contains("/"+m.SubPath+"/", "/../")) {
				ps = append(ps, mw+": subPath "+m.SubPath)
			}
		}
		for name, lim := range c.Resources.Limits {
			add(where+" limit "+string(name), validation.IsQualifiedName(string(name)))
			if req, ok := c.Resources.Requests[name]; ok && req.Cmp(lim) > 0 {
				ps = append(ps, where+" "+string(name)+": request over limit")
			}
			if strings.Contains(string(name), "/") && !strings.Contains(string(name), "kubernetes.io/") {
				if _, ok := c.Resources.Requests[name]; ok && !c.Resources.Requests[name].Equal(lim) {
					ps = append(ps, where+" "+string(name)+": extended resource request differs from limit")
				}
				if lim.MilliValue()%1000 != 0 {
					ps = append(ps, where+" "+string(name)+": extended resource not whole")
				}
			}
		}
		for name := range c.Resources.Requests {
			add(where+" request "+string(name), validation.IsQualifiedName(string(name)))
		}
	}
	for _, c := range spec.InitContainers {
		check("initContainer", c)
	}
	for _, c := range spec.Containers {
		check("container", c)
	}
	for _, s := range spec.ImagePullSecrets {
		add("imagePullSecrets", validation.IsDNS1123Subdomain(s.Name))
	}
	return ps
}

func secretRef(e corev1.EnvVar) *corev1.SecretKeySelector {
	if e.ValueFrom == nil {
		return nil
	}
	return e.ValueFrom.SecretKeyRef
}

func countSources(s corev1.VolumeSource) int {
	n := 0
	for _, set := range []bool{
		s.EmptyDir != nil, s.PersistentVolumeClaim != nil, s.Secret != nil, s.ConfigMap != nil,
		s.HostPath != nil, s.NFS != nil, s.CSI != nil, s.Projected != nil, s.Ephemeral != nil, s.Image != nil,
	} {
		if set {
			n++
		}
	}
	return n
}
