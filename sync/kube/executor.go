package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// Annotations the executor keeps on run Pods.
const (
	// AnnotationLogCursor is how far the run's log was copied (see
	// logCursor), so that a restarted syncer resumes it.
	AnnotationLogCursor = "gitlaunch.dev/log-cursor"
	// AnnotationSavedAt (RFC 3339) says that the logs and results of the
	// finished Pod were saved; it is deleted PodTTL later.
	AnnotationSavedAt = "gitlaunch.dev/saved-at"
)

// ManagedSelector selects the Pods gitlaunch made.
var ManagedSelector = labels.SelectorFromSet(labels.Set{render.LabelManagedBy: render.ManagedBy})

const runIndex = "run-id"

// Executor runs launches as Pods. It follows them through one shared
// informer on the namespace's gitlaunch Pods. Its methods are safe for
// concurrent use.
type Executor struct {
	opts Options
	log  *slog.Logger
	// client creates, reads and cancels Pods and feeds the informer; aux
	// streams logs and does the housekeeping (annotations, deleting
	// finished Pods). Each has its own QPS/Burst limiter, so that log
	// reconnects and clean-up never hold back launching.
	client  kubernetes.Interface
	aux     kubernetes.Interface
	factory informers.SharedInformerFactory
	pods    cache.SharedIndexInformer
	lister  corelisters.PodNamespaceLister

	base context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup // followers and the sweeper

	mu     sync.Mutex
	byPod  map[string]*follower
	byRun  map[string]*follower
	closed bool
}

var _ engine.Executor = (*Executor)(nil)

// New connects to the cluster, starts the informer and waits until its
// cache is filled (bounded by ctx). Later, ctx no longer matters: Close
// stops the executor.
func New(ctx context.Context, opts Options) (*Executor, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg, err := o.restConfig()
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube: client: %w", err)
	}
	auxCfg := rest.CopyConfig(cfg)
	auxCfg.UserAgent += "-logs"
	aux, err := kubernetes.NewForConfig(auxCfg)
	if err != nil {
		return nil, fmt.Errorf("kube: client: %w", err)
	}
	e := &Executor{
		opts: o, log: o.Logger, client: client, aux: aux,
		byPod: map[string]*follower{}, byRun: map[string]*follower{},
	}
	e.factory = informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(o.Namespace),
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = ManagedSelector.String() }))
	podInf := e.factory.Core().V1().Pods()
	e.pods = podInf.Informer()
	e.lister = podInf.Lister().Pods(o.Namespace)
	if err := e.pods.AddIndexers(cache.Indexers{runIndex: indexByRun}); err != nil {
		return nil, fmt.Errorf("kube: informer index: %w", err)
	}
	if _, err := e.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    e.poke,
		UpdateFunc: func(_, obj any) { e.poke(obj) },
		DeleteFunc: e.poke,
	}); err != nil {
		return nil, fmt.Errorf("kube: informer handler: %w", err)
	}
	e.base, e.stop = context.WithCancel(context.Background())
	e.factory.Start(e.base.Done())
	if !cache.WaitForCacheSync(ctx.Done(), e.pods.HasSynced) {
		e.stop()
		e.factory.Shutdown()
		return nil, fmt.Errorf("kube: the Pod cache of namespace %s did not fill: %w", o.Namespace, context.Cause(ctx))
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.sweepLoop(e.base)
	}()
	e.log.Info("kube executor ready", "namespace", o.Namespace, "host", cfg.Host,
		"qps", o.QPS, "burst", o.Burst, "podTTL", o.PodTTL, "results", o.ResultsDir)
	return e, nil
}

// Close stops following runs (they go on in the cluster; a new executor
// adopts them) and the informer, and waits for the goroutines it owns.
func (e *Executor) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	e.stop()
	e.wg.Wait()
	e.factory.Shutdown()
	return nil
}

func indexByRun(obj any) ([]string, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	if id := p.Labels[render.LabelRunID]; id != "" {
		return []string{id}, nil
	}
	return nil, nil
}

// poke wakes the follower of the Pod an informer event is about.
func (e *Executor) poke(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	e.mu.Lock()
	f := e.byPod[p.Name]
	e.mu.Unlock()
	if f != nil {
		f.poke()
	}
}

// register makes f receive its Pod's events and counts it among the
// goroutines Close waits for; old is the follower already following the
// run (then nothing was registered). A registered follower must be
// started (follow) or dropped (abandon).
func (e *Executor) register(f *follower) (old *follower, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("kube: executor closed")
	}
	if old := e.byRun[f.runID]; old != nil {
		if old.pod == f.pod {
			return old, nil
		}
		return nil, fmt.Errorf("kube: run %s is still followed as Pod %s, not %s", f.runID, old.pod, f.pod)
	}
	if old := e.byPod[f.pod]; old != nil {
		return nil, fmt.Errorf("kube: Pod %s is followed for run %s, not %s", f.pod, old.runID, f.runID)
	}
	e.byRun[f.runID] = f
	e.byPod[f.pod] = f
	e.wg.Add(1)
	return nil, nil
}

// abandon drops a registered follower that was not started.
func (e *Executor) abandon(f *follower) {
	e.forget(f)
	e.wg.Done()
}

// forget unregisters f: a follower does so before its terminal update.
func (e *Executor) forget(f *follower) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.byRun[f.runID] == f {
		delete(e.byRun, f.runID)
	}
	if e.byPod[f.pod] == f {
		delete(e.byPod, f.pod)
	}
}

// follow starts a registered follower's goroutine.
func (e *Executor) follow(f *follower) {
	go func() {
		defer e.wg.Done()
		defer e.forget(f)
		f.run(e.base)
	}()
}

// runPods lists the cached Pods of a run.
func (e *Executor) runPods(runID string) []*corev1.Pod {
	objs, err := e.pods.GetIndexer().ByIndex(runIndex, runID)
	if err != nil {
		return nil
	}
	out := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		if p, ok := o.(*corev1.Pod); ok {
			out = append(out, p)
		}
	}
	return out
}

// deletePod deletes a Pod (only the one with its UID, when known) through
// client.
func deletePod(ctx context.Context, client kubernetes.Interface, ns string, p *corev1.Pod, grace time.Duration) error {
	secs := int64(grace / time.Second)
	opts := metav1.DeleteOptions{GracePeriodSeconds: &secs}
	if p.UID != "" {
		opts.Preconditions = &metav1.Preconditions{UID: &p.UID}
	}
	return client.CoreV1().Pods(ns).Delete(ctx, p.Name, opts)
}
