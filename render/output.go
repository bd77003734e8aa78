package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// PodYAML writes pod as a Kubernetes manifest (`kubectl apply -f` ready):
// apiVersion and kind set, no status, no empty creationTimestamp, keys
// sorted, so equal Pods give equal bytes.
func PodYAML(pod *corev1.Pod) ([]byte, error) {
	j, err := manifestJSON(pod)
	if err != nil {
		return nil, err
	}
	y, err := sigsyaml.JSONToYAML(j)
	if err != nil {
		return nil, fmt.Errorf("pod %s as YAML: %w", pod.Name, err)
	}
	return y, nil
}

// PodJSON is PodYAML's JSON form, indented, ending in a newline.
func PodJSON(pod *corev1.Pod) ([]byte, error) {
	j, err := manifestJSON(pod)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, j, "", "  "); err != nil {
		return nil, fmt.Errorf("pod %s as JSON: %w", pod.Name, err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// manifestJSON is pod's JSON with keys sorted and status dropped.
func manifestJSON(pod *corev1.Pod) ([]byte, error) {
	if pod == nil {
		return nil, errors.New("no pod")
	}
	p := pod.DeepCopy()
	p.APIVersion, p.Kind = "v1", "Pod"
	p.Status = corev1.PodStatus{}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("pod %s: %w", pod.Name, err)
	}
	// A struct field cannot be omitted by encoding/json: go through a map,
	// which also sorts every object's keys.
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("pod %s: %w", pod.Name, err)
	}
	delete(m, "status")
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // commands hold < > & often; keep them legible
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("pod %s: %w", pod.Name, err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}
