// Package deploy holds the kustomize base that runs the syncer in a
// cluster. Its test checks the base, and the Pods that the examples render
// to, against a real kube-apiserver (server-side dry run).
package deploy_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/kube/kubetest"
	"github.com/gitlaunch/gitlaunch/templates"
)

func ensureNamespace(t *testing.T, env *kubetest.Env, name string) {
	t.Helper()
	_, err := env.Client.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
}

func kubectl(t *testing.T, env *kubetest.Env, stdin []byte, args ...string) string {
	t.Helper()
	cmd := exec.Command(env.Kubectl, append([]string{"--kubeconfig", env.Kubeconfig}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestKustomizeBaseDryRun(t *testing.T) {
	env := kubetest.Start(t)
	ensureNamespace(t, env, "gitlaunch")
	out := kubectl(t, env, nil, "apply", "--dry-run=server", "-k", ".")
	for _, want := range []string{"deployment.apps/gitlaunch", "role.rbac.authorization.k8s.io/gitlaunch", "service/gitlaunch", "persistentvolumeclaim/gitlaunch-results", "configmap/gitlaunch-config-"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
}

func TestExamplePodsDryRun(t *testing.T) {
	env := kubetest.Start(t)
	ensureNamespace(t, env, "gitlaunch")
	cfg, err := schema.LoadConfigFile(filepath.Join("..", "examples", "gitlaunch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	base, err := templates.ParsePod(templates.PodYAML)
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range []string{"hello", "mnist"} {
		job, err := schema.LoadFile(filepath.Join(".."), filepath.Join("examples", ex, "job.yaml"), cfg)
		if err != nil {
			t.Fatalf("%s: %v", ex, err)
		}
		pod, err := render.Pod(job, render.RunContext{
			RunID: "abcdefghijklmnopqrst", Repo: "models", RepoURL: "https://example.com/acme/models.git",
			SHA: strings.Repeat("0a", 20), Ref: "refs/heads/main", Branch: "main", Trigger: "push", Attempt: 1,
		}, cfg, base)
		if err != nil {
			t.Fatalf("%s: %v", ex, err)
		}
		// Through client-go ...
		if _, err := env.Client.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod,
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Errorf("%s: server-side dry run refused the Pod: %v", ex, err)
		}
		// ... and as a user would, with kubectl.
		y, err := render.PodYAML(pod)
		if err != nil {
			t.Fatal(err)
		}
		if out := kubectl(t, env, y, "apply", "--dry-run=server", "-f", "-"); !strings.Contains(out, "created (server dry run)") {
			t.Errorf("%s: kubectl said %q", ex, out)
		}
	}
}
