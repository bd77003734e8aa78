package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// sweepLoop deletes finished Pods nobody follows any more: those whose
// logs and results were saved (AnnotationSavedAt) once PodTTL has passed,
// and those no syncer saw to the end once OrphanTTL has passed since they
// finished. It reads the informer's cache, so the first sweep after a
// restart also clears what an earlier process left.
func (e *Executor) sweepLoop(ctx context.Context) {
	every := 30 * time.Second
	if ttl := e.opts.PodTTL; ttl > 0 {
		every = min(max(ttl/4, 250*time.Millisecond), every)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		e.sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (e *Executor) sweep(ctx context.Context) {
	pods, err := e.lister.List(ManagedSelector)
	if err != nil {
		e.log.Warn("kube: sweep", "err", err)
		return
	}
	now := e.opts.Clock.Now()
	for _, p := range pods {
		if ctx.Err() != nil {
			return
		}
		if !e.expired(p, now) {
			continue
		}
		e.mu.Lock()
		followed := e.byPod[p.Name] != nil
		e.mu.Unlock()
		if followed {
			continue
		}
		if err := deletePod(ctx, e.aux, e.opts.Namespace, p, 0); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			e.log.Warn("kube: delete finished Pod", "pod", p.Name, "err", err)
			continue
		}
		e.log.Debug("kube: finished Pod deleted", "pod", p.Name)
	}
}

// expired reports whether a finished Pod is due for deletion.
func (e *Executor) expired(p *corev1.Pod, now time.Time) bool {
	if p.DeletionTimestamp != nil || (p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed) {
		return false
	}
	if s, ok := p.Annotations[AnnotationSavedAt]; ok {
		if at, err := time.Parse(time.RFC3339, s); err == nil {
			return !now.Before(at.Add(e.opts.PodTTL))
		}
	}
	return !now.Before(finishedTime(p).Add(e.opts.OrphanTTL))
}

// finishedTime is when the Pod's last container stopped (its creation
// when none says).
func finishedTime(p *corev1.Pod) time.Time {
	t := p.CreationTimestamp.Time
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range list {
			if tr := cs.State.Terminated; tr != nil && tr.FinishedAt.After(t) {
				t = tr.FinishedAt.Time
			}
		}
	}
	return t
}

// annotate sets one annotation on a Pod (a JSON merge patch; only that
// key changes).
func (e *Executor) annotate(ctx context.Context, p *corev1.Pod, key, value string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
	if err != nil {
		return err
	}
	_, err = e.aux.CoreV1().Pods(e.opts.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("annotate Pod %s: %w", p.Name, err)
	}
	return nil
}
