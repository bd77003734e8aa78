package kube

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/kube/kubetest"
)

// kube is the control plane the package's tests share (see TestMain).
var kube *kubetest.Env

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, &kube)) }

// recorder is a Sink that keeps everything it is told.
type recorder struct {
	mu      sync.Mutex
	updates map[string][]engine.Update
	logs    map[string]*bytes.Buffer
	changed chan struct{} // closed and replaced on every call
}

func newRecorder() *recorder {
	return &recorder{updates: map[string][]engine.Update{}, logs: map[string]*bytes.Buffer{}, changed: make(chan struct{})}
}

func (r *recorder) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) Update(_ context.Context, id string, u engine.Update) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates[id] = append(r.updates[id], u)
	r.notify()
	return nil
}

func (r *recorder) Log(_ context.Context, id string, p []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.logs[id] == nil {
		r.logs[id] = &bytes.Buffer{}
	}
	r.logs[id].Write(p)
	r.notify()
	return nil
}

func (r *recorder) snapshot(id string) ([]engine.Update, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var log string
	if b := r.logs[id]; b != nil {
		log = b.String()
	}
	return append([]engine.Update(nil), r.updates[id]...), log
}

// waitFor waits until cond holds for the run's updates and log.
func (r *recorder) waitFor(t *testing.T, id string, d time.Duration, what string, cond func([]engine.Update, string) bool) ([]engine.Update, string) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		us, log := r.snapshot(id)
		if cond(us, log) {
			return us, log
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("run %s: waited %s for %s; updates:\n%s\nlog:\n%s", id, d, what, describe(us), log)
		}
	}
}

// waitState waits for an update with state and returns it.
func (r *recorder) waitState(t *testing.T, id string, state engine.State, d time.Duration) engine.Update {
	t.Helper()
	us, _ := r.waitFor(t, id, d, "state "+string(state), func(us []engine.Update, _ string) bool {
		return anyOf(us, func(u engine.Update) bool { return u.State == state })
	})
	for _, u := range us {
		if u.State == state {
			return u
		}
	}
	panic("unreachable")
}

// waitTerminal waits for the terminal update.
func (r *recorder) waitTerminal(t *testing.T, id string, d time.Duration) engine.Update {
	t.Helper()
	us, _ := r.waitFor(t, id, d, "a terminal state", func(us []engine.Update, _ string) bool {
		return len(us) > 0 && us[len(us)-1].State.Terminal()
	})
	return us[len(us)-1]
}

func anyOf[T any](s []T, f func(T) bool) bool {
	for _, v := range s {
		if f(v) {
			return true
		}
	}
	return false
}

func describe(us []engine.Update) string {
	var b strings.Builder
	for _, u := range us {
		code := ""
		if u.ExitCode != nil {
			code = fmt.Sprintf(" exit=%d", *u.ExitCode)
		}
		fmt.Fprintf(&b, "  %s %q%s retryable=%v\n", u.State, u.Reason, code, u.Retryable)
	}
	return b.String()
}

// checkNoRepeats fails when a (state, reason) pair was sent twice, or
// anything followed a terminal update.
func checkNoRepeats(t *testing.T, us []engine.Update) {
	t.Helper()
	seen := map[string]bool{}
	for i, u := range us {
		k := key(u.State, u.Reason)
		if seen[k] {
			t.Errorf("update %d repeats %s %q:\n%s", i, u.State, u.Reason, describe(us))
		}
		seen[k] = true
		if u.State.Terminal() && i != len(us)-1 {
			t.Errorf("updates after the terminal one:\n%s", describe(us))
		}
	}
}

// testConfig is a cluster config for the default kubetest nodes, with the
// results volume a host folder that the test also reads as ResultsDir.
func testConfig(ns, results string) *schema.Config {
	return &schema.Config{
		APIVersion: schema.APIVersion,
		Kind:       schema.KindConfig,
		Executor:   "kube",
		Namespace:  ns,
		CloneImage: "ghcr.io/gitlaunch/gitlaunch:test",
		GPUModels: map[string]schema.GPUModel{
			"a100": {Resource: string(kubetest.ResourceA100)},
			"h100": {NodeSelector: map[string]string{kubetest.GPUProductLabel: kubetest.H100Product}},
		},
		Results: schema.ResultsVolume{
			Volume:    &corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: results}},
			MountPath: results,
		},
		Defaults: schema.Defaults{Timeout: schema.Duration{Duration: time.Hour}},
	}
}

const testSHA = "3f786850e387550fdab836ed7e6dc881de23001b"

var runCounter atomic.Int64

// harness is one test's namespace, results folder and executor.
type harness struct {
	t       testing.TB
	env     *kubetest.Env
	ns      string
	results string
	cfg     *schema.Config
	sink    *recorder
	exec    *Executor
	ctx     context.Context
}

// setup starts an executor on a fresh namespace; opts may adjust its
// options.
func setup(t testing.TB, opts ...func(*Options)) *harness {
	t.Helper()
	env := kubetest.Need(t, kube)
	h := &harness{t: t, env: env, ns: env.Namespace(t), results: t.TempDir(), sink: newRecorder()}
	h.cfg = testConfig(h.ns, h.results)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)
	h.ctx = ctx
	h.exec = h.newExecutor(opts...)
	return h
}

func (h *harness) options(opts ...func(*Options)) Options {
	o := Options{
		Config:     h.env.Config,
		Namespace:  h.ns,
		ResultsDir: h.results,
		PullGrace:  2 * time.Second,
		Logger:     slog.New(slog.NewTextHandler(h.t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// newExecutor starts an executor that is closed when the test ends.
func (h *harness) newExecutor(opts ...func(*Options)) *Executor {
	h.t.Helper()
	e, err := New(h.ctx, h.options(opts...))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = e.Close() })
	return e
}

const defaultJob = `apiVersion: gitlaunch.dev/v1
kind: Job
name: train
image: pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
command: python train.py
resources: {cpu: "1", memory: 1Gi}
`

// launch renders job (YAML) for a new run, with kwok annotations.
func (h *harness) launch(job string, annotations map[string]string) engine.Launch {
	h.t.Helper()
	j, err := schema.LoadWithConfig("train/job.yaml", []byte(job), h.cfg)
	if err != nil {
		h.t.Fatalf("job: %v", err)
	}
	key := fmt.Sprintf("%s-%d", h.t.Name(), runCounter.Add(1))
	r := &engine.Run{
		ID: engine.RunID("lab", j.Path, testSHA, engine.TriggerManual, key), Repo: "lab",
		RepoURL: "https://git.example/lab.git", JobPath: j.Path, JobName: j.Name, SHA: testSHA,
		Ref: "refs/heads/main", Branch: "main", Trigger: engine.TriggerManual, TriggerKey: key,
		State: engine.StatePending, Reason: "starting", Attempt: 1, Manifest: job,
	}
	p, err := render.Pod(j, render.RunContext{RunID: r.ID, Repo: r.Repo, RepoURL: r.RepoURL, SHA: r.SHA,
		Ref: r.Ref, Branch: r.Branch, Trigger: string(r.Trigger), Attempt: r.Attempt}, h.cfg, nil)
	if err != nil {
		h.t.Fatalf("render: %v", err)
	}
	for k, v := range annotations {
		p.Annotations[k] = v
	}
	return engine.Launch{Run: r, Job: j, Pod: p}
}

func (h *harness) start(l engine.Launch) {
	h.t.Helper()
	if err := h.exec.Start(h.ctx, l, h.sink); err != nil {
		h.t.Fatalf("start: %v", err)
	}
}

// runPods lists the Pods of a run in the API server (not a cache).
func (h *harness) runPods(id string) []corev1.Pod {
	h.t.Helper()
	list, err := h.env.Client.CoreV1().Pods(h.ns).List(h.ctx, metav1.ListOptions{LabelSelector: render.LabelRunID + "=" + id})
	if err != nil {
		h.t.Fatal(err)
	}
	return list.Items
}

// waitGone waits until the Pod no longer exists.
func (h *harness) waitGone(name string, d time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(d)
	for {
		_, err := h.env.Client.CoreV1().Pods(h.ns).Get(h.ctx, name, metav1.GetOptions{})
		if err != nil {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("Pod %s still exists after %s", name, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ann(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
