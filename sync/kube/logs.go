package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Reconnect pacing for a log stream that ended while its container runs
// (an API server restart, a kubelet that closed it).
const (
	logRetryMin = 250 * time.Millisecond
	logRetryMax = 5 * time.Second
)

// logStream copies one container's log into the run's log while it runs,
// and once more after it ended, resuming after each disconnect where the
// previous stream stopped. Its goroutine is owned by a follower.
type logStream struct {
	e         *Executor
	runID     string
	pod       string
	container string
	deliver   func(ctx context.Context, p []byte)
	// ended is cancelled by the follower when the container has stopped
	// (or the Pod is gone): a followed stream is cut (not every server
	// ends it), and the next read, without Follow, is the last one.
	ended context.Context
	end   context.CancelFunc

	mu     sync.Mutex
	filter logFilter // guarded by mu while streaming; the cursor is read by the follower
}

func newLogStream(e *Executor, runID, pod, container string, from logCursor, deliver func(context.Context, []byte)) *logStream {
	s := &logStream{e: e, runID: runID, pod: pod, container: container, deliver: deliver}
	s.ended, s.end = context.WithCancel(context.Background())
	s.filter.cur = from
	return s
}

func (s *logStream) cursor() logCursor {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.filter.cur
}

// run streams until the container ended and its log was read to the end,
// the Pod is gone, or ctx ends.
func (s *logStream) run(ctx context.Context) {
	wait := logRetryMin
	finalTries := 0
	for {
		last := s.ended.Err() != nil
		rctx, cancel := context.WithCancel(ctx)
		stop := func() bool { return false }
		if !last {
			stop = context.AfterFunc(s.ended, cancel)
		}
		n, err := s.read(rctx, !last)
		stop()
		cancel()
		if ctx.Err() != nil {
			return
		}
		if apierrors.IsNotFound(err) {
			return // the Pod is gone, and its log with it
		}
		if last {
			if err == nil {
				return
			}
			if finalTries++; finalTries >= 3 {
				s.e.log.Warn("kube: could not read the end of a run's log", "run", s.runID, "pod", s.pod, "err", err)
				return
			}
		}
		if err != nil {
			s.e.log.Debug("kube: log stream", "run", s.runID, "pod", s.pod, "err", err)
		}
		if n > 0 {
			wait = logRetryMin
		} else {
			wait = min(2*wait, logRetryMax)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.ended.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// read opens one stream from the cursor and copies it; n counts the bytes
// delivered.
func (s *logStream) read(ctx context.Context, follow bool) (n int, err error) {
	s.mu.Lock()
	from := s.filter.cur
	s.mu.Unlock()
	rc, err := openLog(ctx, s.e, s.pod, s.container, follow, from.TS)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	s.mu.Lock()
	s.filter.reset()
	s.mu.Unlock()
	buf := make([]byte, 32<<10)
	var out []byte
	for {
		m, rerr := rc.Read(buf)
		if m > 0 {
			s.mu.Lock()
			out = s.filter.write(out[:0], buf[:m])
			s.mu.Unlock()
			if len(out) > 0 {
				s.deliver(ctx, out)
				n += len(out)
			}
		}
		if errors.Is(rerr, io.EOF) {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// openLog asks for a container's log with time stamps, from since (zero:
// the start).
func openLog(ctx context.Context, e *Executor, pod, container string, follow bool, since time.Time) (io.ReadCloser, error) {
	opts := &corev1.PodLogOptions{Container: container, Follow: follow, Timestamps: true}
	if !since.IsZero() {
		t := metav1.NewTime(since)
		opts.SinceTime = &t
	}
	rc, err := e.aux.CoreV1().Pods(e.opts.Namespace).GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		return nil, fmt.Errorf("log of %s/%s: %w", pod, container, err)
	}
	return rc, nil
}

// readWholeLog returns a container's log text (for the clone step's
// output when it failed), at most limit bytes.
func readWholeLog(ctx context.Context, e *Executor, pod, container string, limit int) ([]byte, error) {
	rc, err := openLog(ctx, e, pod, container, false, time.Time{})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("log of %s/%s: %w", pod, container, err)
	}
	var f logFilter
	return f.write(nil, raw), nil
}
