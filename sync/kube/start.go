package kube

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// Start creates the run's Pod and follows it. A Pod of that name that
// already exists (a restart, a duplicate event) is the run's: the name is
// derived from the run ID and attempt, so it is adopted, never created
// twice.
func (e *Executor) Start(ctx context.Context, l engine.Launch, sink engine.Sink) error {
	pod, err := e.prepare(l)
	if err != nil {
		return err
	}
	f := newFollower(e, l, pod.Name, sink)
	if old, err := e.register(f); err != nil || old != nil {
		return err // following it already: nothing to do
	}
	created, err := e.client.CoreV1().Pods(e.opts.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	switch {
	case err == nil:
		f.initial = created
	case apierrors.IsAlreadyExists(err):
		existing, gerr := e.getPod(ctx, pod.Name)
		if gerr != nil {
			e.abandon(f)
			return fmt.Errorf("kube start %s: Pod %s exists but cannot be read: %w", l.Run.ID, pod.Name, gerr)
		}
		if got := existing.Labels[render.LabelRunID]; got != runLabel(l.Run.ID) {
			e.abandon(f)
			return fmt.Errorf("kube start %s: Pod %s exists and belongs to run %q", l.Run.ID, pod.Name, got)
		}
		e.log.Info("kube: Pod exists; adopting it", "run", l.Run.ID, "pod", pod.Name)
		f.initial = existing
		f.adopted(existing)
	default:
		e.abandon(f)
		return fmt.Errorf("kube start %s: create Pod %s: %w", l.Run.ID, pod.Name, err)
	}
	e.follow(f)
	return nil
}

// Adopt follows the Pod of a run launched by an earlier process. A missing
// Pod wraps engine.ErrNotFound.
func (e *Executor) Adopt(ctx context.Context, l engine.Launch, sink engine.Sink) error {
	if l.Run == nil || l.Pod == nil || l.Pod.Name == "" {
		return fmt.Errorf("kube adopt: launch without run or Pod name: %w", engine.ErrNotFound)
	}
	name := l.Pod.Name
	existing, err := e.getPod(ctx, name)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("kube adopt %s: Pod %s: %w", l.Run.ID, name, engine.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("kube adopt %s: %w", l.Run.ID, err)
	}
	if got := existing.Labels[render.LabelRunID]; got != runLabel(l.Run.ID) {
		return fmt.Errorf("kube adopt %s: Pod %s belongs to run %q: %w", l.Run.ID, name, got, engine.ErrNotFound)
	}
	f := newFollower(e, l, name, sink)
	if old, err := e.register(f); err != nil || old != nil {
		return err
	}
	f.initial = existing
	f.adopted(existing)
	e.log.Info("kube: run adopted", "run", l.Run.ID, "pod", name, "phase", existing.Status.Phase)
	e.follow(f)
	return nil
}

// Cancel deletes the run's Pod with the grace period Options.CancelGrace;
// the run's terminal update is StateCancelled. A run this executor does
// not follow wraps engine.ErrNotFound (its leftover Pods are still deleted,
// so that nothing keeps running).
func (e *Executor) Cancel(ctx context.Context, runID string) error {
	e.mu.Lock()
	f := e.byRun[runID]
	e.mu.Unlock()
	if f == nil {
		var errs []error
		for _, p := range e.runPods(runLabel(runID)) {
			if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				if err := deletePod(ctx, e.client, e.opts.Namespace, p, e.opts.CancelGrace); err != nil && !apierrors.IsNotFound(err) {
					errs = append(errs, err)
				}
			}
		}
		return errors.Join(fmt.Errorf("kube cancel %s: no run followed by this executor: %w", runID, engine.ErrNotFound), errors.Join(errs...))
	}
	f.cancelled.Store(true)
	target := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: f.pod}}
	if p, err := e.lister.Get(f.pod); err == nil {
		target = p
	}
	err := deletePod(ctx, e.client, e.opts.Namespace, target, e.opts.CancelGrace)
	f.poke()
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("kube cancel %s: delete Pod %s: %w", runID, f.pod, err)
	}
	e.log.Info("kube: run cancelled", "run", runID, "pod", f.pod, "grace", e.opts.CancelGrace)
	return nil
}

// prepare checks a launch and returns the Pod to create: in the
// executor's namespace, labelled so that the informer sees it.
func (e *Executor) prepare(l engine.Launch) (*corev1.Pod, error) {
	if l.Run == nil || l.Run.ID == "" {
		return nil, errors.New("kube start: launch without a run ID")
	}
	if l.Pod == nil || l.Pod.Name == "" {
		return nil, fmt.Errorf("kube start %s: launch without a named Pod", l.Run.ID)
	}
	p := l.Pod.DeepCopy()
	if p.Namespace != "" && p.Namespace != e.opts.Namespace {
		return nil, fmt.Errorf("kube start %s: Pod namespace %q is not the executor's %q", l.Run.ID, p.Namespace, e.opts.Namespace)
	}
	p.Namespace = e.opts.Namespace
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	want := runLabel(l.Run.ID)
	if id, ok := p.Labels[render.LabelRunID]; ok && id != want {
		return nil, fmt.Errorf("kube start %s: Pod is labelled for run %q", l.Run.ID, id)
	}
	p.Labels[render.LabelRunID] = want
	p.Labels[render.LabelManagedBy] = render.ManagedBy
	p.ResourceVersion = ""
	return p, nil
}

// getPod reads a Pod from the cache, else from the API server (the cache
// may not have seen it yet).
func (e *Executor) getPod(ctx context.Context, name string) (*corev1.Pod, error) {
	if p, err := e.lister.Get(name); err == nil {
		return p, nil
	}
	return e.client.CoreV1().Pods(e.opts.Namespace).Get(ctx, name, metav1.GetOptions{})
}

// runLabel is the run-id label value of a run (render.LabelValue keeps
// engine.RunID's IDs as they are).
func runLabel(id string) string { return render.LabelValue(id) }
