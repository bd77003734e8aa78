package kube

import (
	"context"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/results"
	"log/slog"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// notInCache is how long a follower trusts the Pod that Create returned
// before asking the API server whether the cache is only slow.
const notInCache = 10 * time.Second

// follower follows one run's Pod from the informer's cache: it turns each
// change into an Update (never the same state and reason twice), copies
// the job's log while it runs, and at the end reads the results, sends
// the terminal Update and leaves the Pod to be deleted. Its goroutine is
// owned by the Executor.
type follower struct {
	e     *Executor
	l     engine.Launch
	runID string
	pod   string
	sink  engine.Sink
	log   *slog.Logger
	wake  chan struct{}

	cancelled atomic.Bool

	// Owned by the follower's goroutine:
	initial      *corev1.Pod // from Create or Adopt, until the cache has it
	since        time.Time   // when following began
	inCache      bool
	last         *corev1.Pod
	sent         map[string]bool
	troubleSince time.Time
	from         logCursor // where the job's log resumes (adopted Pods)
	saved        logCursor // the cursor last saved on the Pod
	savedAt      time.Time
	logs         *logStream
	logsStop     context.CancelFunc
	logsDone     chan struct{}
	scan         *results.Scanner
	notes        []string
}

func newFollower(e *Executor, l engine.Launch, pod string, sink engine.Sink) *follower {
	f := &follower{
		e: e, l: l, runID: l.Run.ID, pod: pod, sink: sink,
		log:  e.log.With("run", l.Run.ID, "pod", pod),
		wake: make(chan struct{}, 1),
		sent: map[string]bool{},
	}
	// What the engine already knows is not news.
	if l.Run.State != "" {
		f.sent[key(l.Run.State, l.Run.Reason)] = true
	}
	var patterns map[string]string
	if l.Job != nil && l.Job.Results.Metrics != nil {
		patterns = l.Job.Results.Metrics.Patterns
	}
	f.scan, f.notes = results.NewScanner(patterns)
	return f
}

// adopted takes over the log position an earlier process saved on p.
func (f *follower) adopted(p *corev1.Pod) {
	c, err := parseCursor(p.Annotations[AnnotationLogCursor])
	if err != nil {
		f.log.Warn("kube: ignoring a bad log cursor; the log is copied from its start", "err", err)
		return
	}
	f.from, f.saved = c, c
}

func (f *follower) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func key(s engine.State, reason string) string { return string(s) + "\x00" + reason }

func (f *follower) run(ctx context.Context) {
	f.since = f.e.opts.Clock.Now()
	f.savedAt = f.since
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	defer f.stopLogs()
	for {
		p := f.current(ctx)
		now := f.e.opts.Clock.Now()
		v := classify(p, seen{Cancelled: f.cancelled.Load(), Now: now, TroubleSince: f.troubleSince, Grace: f.e.opts.PullGrace})
		if v.Trouble && f.troubleSince.IsZero() {
			f.troubleSince = now
		} else if !v.Trouble && !v.State.Terminal() {
			f.troubleSince = time.Time{}
		}
		if v.Started && p != nil && f.logs == nil {
			f.startLogs(ctx)
		}
		if v.State.Terminal() {
			f.finish(ctx, p, v)
			return
		}
		f.report(ctx, v.Update)
		if f.logs != nil && jobEnded(p) {
			f.logs.end()
		}
		f.saveCursor(ctx, now, false)

		wait := time.Hour
		if !f.troubleSince.IsZero() {
			wait = min(wait, f.troubleSince.Add(f.e.opts.PullGrace).Sub(now))
		}
		if !f.inCache {
			wait = min(wait, notInCache)
		}
		if f.logs != nil && f.e.opts.CursorPeriod > 0 {
			wait = min(wait, f.e.opts.CursorPeriod)
		}
		timer.Reset(max(wait, 10*time.Millisecond))
		select {
		case <-ctx.Done():
			// The executor closes; the run goes on in the cluster. Save
			// the log position for the next executor.
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			f.stopLogs()
			f.saveCursor(sctx, now, true)
			cancel()
			return
		case <-f.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// current returns the Pod as the cache has it, or nil once it is gone.
func (f *follower) current(ctx context.Context) *corev1.Pod {
	if p, err := f.e.lister.Get(f.pod); err == nil {
		f.inCache, f.last = true, p
		return p
	}
	if f.inCache {
		return nil
	}
	// Not seen yet: the cache may lag behind our Create.
	if f.e.opts.Clock.Now().Sub(f.since) < notInCache {
		return f.initial
	}
	p, err := f.e.client.CoreV1().Pods(f.e.opts.Namespace).Get(ctx, f.pod, metav1.GetOptions{})
	switch {
	case err == nil:
		f.initial = p
		return p
	case apierrors.IsNotFound(err):
		f.inCache = true // it was, and is gone
		return nil
	}
	return f.initial
}

// report sends u unless that state and reason were sent before.
func (f *follower) report(ctx context.Context, u engine.Update) {
	k := key(u.State, u.Reason)
	if f.sent[k] {
		return
	}
	f.sent[k] = true
	if u.At.IsZero() {
		u.At = f.e.opts.Clock.Now()
	}
	if err := f.sink.Update(ctx, f.runID, u); err != nil {
		f.log.Error("kube: update run", "state", u.State, "err", err)
	}
}

func (f *follower) startLogs(ctx context.Context) {
	lctx, cancel := context.WithCancel(ctx)
	f.logsStop = cancel
	f.logsDone = make(chan struct{})
	f.logs = newLogStream(f.e, f.runID, f.pod, render.ContainerJob, f.from, f.deliver)
	go func() {
		defer close(f.logsDone)
		f.logs.run(lctx)
	}()
}

// stopLogs ends the log stream at once and waits for its goroutine.
func (f *follower) stopLogs() {
	if f.logsStop == nil {
		return
	}
	f.logsStop()
	<-f.logsDone
}

// drainLogs lets the log stream read to the end, for at most LogDrain.
func (f *follower) drainLogs() {
	if f.logs == nil {
		return
	}
	f.logs.end()
	t := time.NewTimer(f.e.opts.LogDrain)
	defer t.Stop()
	select {
	case <-f.logsDone:
	case <-t.C:
		f.log.Warn("kube: the end of the run's log did not arrive in time", "waited", f.e.opts.LogDrain)
	}
	f.stopLogs()
}

func (f *follower) deliver(ctx context.Context, p []byte) {
	_, _ = f.scan.Write(p)
	if err := f.sink.Log(ctx, f.runID, p); err != nil {
		f.log.Error("kube: save run log", "err", err)
	}
}

// note adds gitlaunch's own lines to the run's log.
func (f *follower) note(ctx context.Context, lines ...string) {
	var b []byte
	for _, l := range lines {
		b = append(b, "[gitlaunch] "+l+"\n"...)
	}
	if len(b) > 0 {
		if err := f.sink.Log(ctx, f.runID, b); err != nil {
			f.log.Error("kube: save run log", "err", err)
		}
	}
}

// saveCursor records the job log's position on the Pod, every
// CursorPeriod (or now, when force) while it changes.
func (f *follower) saveCursor(ctx context.Context, now time.Time, force bool) {
	if f.logs == nil || f.last == nil {
		return
	}
	if !force && (f.e.opts.CursorPeriod <= 0 || now.Sub(f.savedAt) < f.e.opts.CursorPeriod) {
		return
	}
	c := f.logs.cursor()
	if c == f.saved || c.TS.IsZero() {
		return
	}
	if err := f.e.annotate(ctx, f.last, AnnotationLogCursor, c.String()); err != nil {
		f.log.Warn("kube: save log position", "err", err)
		return
	}
	f.saved, f.savedAt = c, now
}

// finish ends the run: the log to its end, the clone step's output when it
// failed, results, the terminal update, then the Pod's deletion.
func (f *follower) finish(ctx context.Context, p *corev1.Pod, v verdict) {
	f.drainLogs()
	if v.CloneFailed && p != nil {
		out, err := readWholeLog(ctx, f.e, f.pod, render.ContainerClone, 1<<20)
		switch {
		case err != nil:
			f.note(ctx, fmt.Sprintf("clone failed; its output could not be read: %v", err))
		default:
			if len(out) > 0 && out[len(out)-1] != '\n' {
				out = append(out, '\n')
			}
			f.note(ctx, "clone failed; output of the clone step:")
			if err := f.sink.Log(ctx, f.runID, out); err != nil {
				f.log.Error("kube: save run log", "err", err)
			}
		}
	}
	u := v.Update
	spec := p
	if spec == nil {
		spec = f.last
	}
	if spec == nil {
		spec = f.initial
	}
	var fileMetrics map[string]float64
	if f.e.opts.ResultsDir != "" && f.l.Job != nil && spec != nil {
		r, err := resultsFor(f.e.opts.ResultsDir, spec)
		if err != nil {
			f.notes = append(f.notes, "results not read: "+err.Error())
		} else {
			u.Artifacts = r.Artifacts(f.l.Job.Results.Artifacts)
			fileMetrics = r.MetricsFile(f.l.Job.Results.Metrics)
			f.notes = append(f.notes, r.Notes...)
		}
	}
	u.Metrics = results.MergeMetrics(f.scan.Values(), fileMetrics)
	f.note(ctx, f.notes...)
	// Unregister first: a Start that follows the terminal update (a retry)
	// must not find this follower.
	f.e.forget(f)
	f.report(ctx, u)
	f.log.Info("kube: run finished", "state", u.State, "reason", u.Reason)
	f.cleanup(ctx, p)
}

// cleanup deletes the Pod now, or marks it saved for the sweep to delete
// after PodTTL.
func (f *follower) cleanup(ctx context.Context, p *corev1.Pod) {
	if p == nil || p.DeletionTimestamp != nil {
		return
	}
	finished := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	if !finished || f.e.opts.PodTTL == 0 {
		// A Pod that never finished (an image that cannot be pulled)
		// would wait forever.
		if err := deletePod(ctx, f.e.aux, f.e.opts.Namespace, p, f.e.opts.CancelGrace); err != nil && !apierrors.IsNotFound(err) {
			f.log.Warn("kube: delete Pod", "err", err)
		}
		return
	}
	if err := f.e.annotate(ctx, p, AnnotationSavedAt, f.e.opts.Clock.Now().UTC().Format(time.RFC3339)); err != nil {
		f.log.Warn("kube: mark Pod saved; the sweep deletes it after OrphanTTL instead", "err", err)
	}
}

// jobEnded: the job container has stopped (its log is complete).
func jobEnded(p *corev1.Pod) bool {
	if p == nil {
		return true
	}
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return true
	}
	cs := containerStatus(p.Status.ContainerStatuses, render.ContainerJob, p)
	return cs != nil && cs.State.Terminated != nil
}
