package templates

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestEmbeddedPod(t *testing.T) {
	pod, err := ParsePod(PodYAML)
	if err != nil {
		t.Fatalf("embedded pod.yaml: %v", err)
	}
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy = %q, want Never", pod.Spec.RestartPolicy)
	}
	if pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks {
		t.Error("enableServiceLinks must be false")
	}
	if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken must be false")
	}
	if got := pod.Labels["app.kubernetes.io/managed-by"]; got != "gitlaunch" {
		t.Errorf("managed-by label = %q", got)
	}
	if sc := pod.Spec.SecurityContext; sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot {
		t.Error("the default template must not force runAsNonRoot")
	}
	if len(pod.Spec.Containers) != 1 || pod.Spec.Containers[0].Name != "job" {
		t.Fatalf("want exactly one container named job, got %+v", pod.Spec.Containers)
	}
	if pod.Spec.NodeSelector != nil || pod.Spec.Tolerations != nil || pod.Spec.RuntimeClassName != nil || pod.Namespace != "" {
		t.Error("the default template must hold nothing cluster-specific")
	}
}

func TestParsePodErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // substrings the error must hold
	}{
		{"unknown top-level field", "apiVersion: v1\nkind: Pod\nspecc: {}\n", []string{`unknown field "specc"`}},
		{"unknown nested fields named with their path", "apiVersion: v1\nkind: Pod\nspec:\n  tolleration: []\n  containers:\n  - name: job\n    imagee: x\n",
			[]string{`"spec.tolleration"`, `"spec.containers[0].imagee"`}},
		{"field names are case-sensitive", "apiVersion: v1\nkind: Pod\nspec:\n  RestartPolicy: Never\n", []string{`"spec.RestartPolicy"`}},
		{"duplicate key", "apiVersion: v1\nkind: Pod\nspec: {}\nspec: {}\n", []string{"spec"}},
		{"wrong kind", "apiVersion: v1\nkind: Deployment\n", []string{`kind "Deployment"`}},
		{"wrong apiVersion", "apiVersion: v2\nkind: Pod\n", []string{`apiVersion "v2"`}},
		{"empty document", "", []string{"want apiVersion v1, kind Pod"}},
		{"wrong type", "apiVersion: v1\nkind: Pod\nspec:\n  containers: job\n", []string{"pod template"}},
		{"not YAML", "apiVersion: [v1\n", []string{"pod template"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePod([]byte(tt.in))
			if err == nil {
				t.Fatal("ParsePod accepted a bad template")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParsePodKeepsAdminFields(t *testing.T) {
	in := `
apiVersion: v1
kind: Pod
metadata:
  labels: {team: vision}
spec:
  runtimeClassName: nvidia
  tolerations:
  - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
  containers:
  - name: job
    resources:
      requests: {ephemeral-storage: 10Gi}
`
	pod, err := ParsePod([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if pod.Labels["team"] != "vision" || *pod.Spec.RuntimeClassName != "nvidia" || len(pod.Spec.Tolerations) != 1 {
		t.Errorf("fields lost: %+v", pod)
	}
	if q := pod.Spec.Containers[0].Resources.Requests[corev1.ResourceEphemeralStorage]; q.String() != "10Gi" {
		t.Errorf("ephemeral-storage = %s", q.String())
	}
}
