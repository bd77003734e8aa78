package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	"github.com/gitlaunch/gitlaunch/sync/kube/kubetest"
)

// TestSyncOnceOnKubernetes runs `gitlaunch sync --once` with the kube
// executor against a real kube-apiserver whose nodes are kwok's: the Pod is
// created, scheduled, run and reported, as a user would see it.
func TestSyncOnceOnKubernetes(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t)
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{
		"train/job.yaml": "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: busybox\ncommand: echo training\nresources: {gpu: 1, gpuModel: h100}\n",
	}, "first")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gitlaunch.yaml")
	if err := os.WriteFile(cfg, []byte(`apiVersion: gitlaunch.dev/v1
kind: Config
executor: kube
namespace: `+ns+`
gpuModels:
  h100: {resource: nvidia.com/gpu, nodeSelector: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}}
kube: {kubeconfig: `+env.Kubeconfig+`, podTTL: 1h}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := gitlaunch(t, "", "sync", "--once", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), remote.URL)
	if code != 0 {
		t.Fatalf("sync --once on kube exited %d:\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "repo/train") || !strings.Contains(out, "SUCCEEDED") {
		t.Errorf("console:\n%s", out)
	}
	pods, err := env.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "gitlaunch.dev/job=train"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Fatalf("%d Pods for the run, want 1", len(pods.Items))
	}
	p := pods.Items[0]
	if p.Spec.NodeSelector["nvidia.com/gpu.product"] != "NVIDIA-H100-80GB-HBM3" || p.Spec.NodeName == "" {
		t.Errorf("pod placed on %q with selector %v", p.Spec.NodeName, p.Spec.NodeSelector)
	}
}
