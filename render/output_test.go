package render

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitlaunch/gitlaunch/templates"
)

func TestPodYAMLRoundTrip(t *testing.T) {
	job := loadJob(t, "mnist.job.yaml", "mnist/job.yaml")
	job.Command = "python train.py < /dev/null && echo done >&2\n"
	pod, err := Pod(job, pushRun(), clusterConfig(), loadBase(t, "admin.pod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Noise a Pod read back from a cluster carries.
	noisy := pod.DeepCopy()
	noisy.TypeMeta = metav1.TypeMeta{}
	noisy.Status.Phase = corev1.PodRunning
	noisy.CreationTimestamp = metav1.Time{}

	y, err := PodYAML(noisy)
	if err != nil {
		t.Fatal(err)
	}
	s := string(y)
	if !strings.HasPrefix(s, "apiVersion: v1\nkind: Pod\n") {
		t.Errorf("YAML does not start with apiVersion and kind:\n%s", s)
	}
	for _, noise := range []string{"status:", "creationTimestamp", "Running"} {
		if strings.Contains(s, noise) {
			t.Errorf("YAML holds %q", noise)
		}
	}
	// Strict parsing: every field written is a Pod field.
	back, err := templates.ParsePod(y)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalize(t, back), normalize(t, pod)) {
		t.Error("YAML does not read back as the same Pod")
	}

	j, err := PodJSON(noisy)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(j, []byte("}\n")) || bytes.Contains(j, []byte(`"status"`)) || !bytes.Contains(j, []byte(`"python train.py < /dev/null && echo done >&2\n"`)) {
		t.Errorf("JSON output:\n%s", j)
	}
	back, err = templates.ParsePod(j)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalize(t, back), normalize(t, pod)) {
		t.Error("JSON does not read back as the same Pod")
	}
	if noisy.Status.Phase != corev1.PodRunning || noisy.APIVersion != "" {
		t.Error("PodYAML modified its argument")
	}
}

// normalize compares Pods by their JSON (quantities parsed from text keep
// their text form; ones built in Go do not).
func normalize(t *testing.T, p *corev1.Pod) map[string]any {
	t.Helper()
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOutputNil(t *testing.T) {
	if _, err := PodYAML(nil); err == nil {
		t.Error("PodYAML(nil) succeeded")
	}
	if _, err := PodJSON(nil); err == nil {
		t.Error("PodJSON(nil) succeeded")
	}
}
