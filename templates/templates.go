// Package templates holds the defaults gitlaunch embeds and an admin may
// override: the base Pod every run Pod is rendered onto (pod.yaml, replaced
// by the config's podTemplate file).
package templates

import (
	_ "embed"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// PodYAML is the embedded base Pod template.
//
//go:embed pod.yaml
var PodYAML []byte

// ParsePod decodes a Pod template written in YAML (or JSON). Like kubectl's
// strict decoding it is case-sensitive and rejects duplicate keys and
// unknown fields, naming each (a typo such as `tolleration` must not
// silently drop the admin's setting). The document must be apiVersion v1,
// kind Pod.
func ParsePod(data []byte) (*corev1.Pod, error) {
	j, err := sigsyaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("pod template: %w", err)
	}
	pod := &corev1.Pod{}
	strict, err := sigsjson.UnmarshalStrict(j, pod)
	if err != nil {
		return nil, fmt.Errorf("pod template: %w", err)
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("pod template: %w", errors.Join(strict...))
	}
	if pod.APIVersion != "v1" || pod.Kind != "Pod" {
		return nil, fmt.Errorf("pod template: apiVersion %q, kind %q: want apiVersion v1, kind Pod", pod.APIVersion, pod.Kind)
	}
	return pod, nil
}
