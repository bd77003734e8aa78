package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// ErrLeaseLost is returned when this process stopped being the leader
// while its context was still live (the API server was unreachable for
// longer than the renew deadline, or another process took the lease).
var ErrLeaseLost = errors.New("kube: lost the leader lease")

// DefaultLeaseName is the Lease that syncer replicas compete for.
const DefaultLeaseName = "gitlaunch-syncer"

// LeaderOptions tune RunElected; zero fields take client-go's usual
// values (15s lease, 10s renew deadline, 2s retry).
type LeaderOptions struct {
	Config    *rest.Config
	Namespace string
	Identity  string
	LeaseName string

	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	Logger        *slog.Logger
}

// RunWithLeaderElection runs run while this process holds the
// coordination.k8s.io Lease "gitlaunch-syncer" in namespace, so that of
// several syncer replicas only one launches runs. It waits to become the
// leader; losing the lease cancels run's context. It returns after run
// returned and the lease was released: nil when ctx ended, ErrLeaseLost
// when the lease was lost first (the caller should exit, or call again to
// stand as a candidate anew).
func RunWithLeaderElection(ctx context.Context, cfg *rest.Config, namespace, identity string, run func(ctx context.Context)) error {
	return RunElected(ctx, LeaderOptions{Config: cfg, Namespace: namespace, Identity: identity}, run)
}

// RunElected is RunWithLeaderElection with every option.
//
// The lease is released only after run has returned, so a successor never
// overlaps a leader that stops on its own. A leader cut off from the API
// server stops renewing after RenewDeadline and its run is cancelled; a
// successor can take over LeaseDuration after the last renewal, so run
// should stop within LeaseDuration-RenewDeadline of its context's end.
func RunElected(ctx context.Context, o LeaderOptions, run func(ctx context.Context)) error {
	if o.Config == nil || o.Namespace == "" || o.Identity == "" {
		return errors.New("kube: leader election needs a config, a namespace and an identity")
	}
	if o.LeaseName == "" {
		o.LeaseName = DefaultLeaseName
	}
	if o.LeaseDuration == 0 {
		o.LeaseDuration = 15 * time.Second
	}
	if o.RenewDeadline == 0 {
		o.RenewDeadline = 10 * time.Second
	}
	if o.RetryPeriod == 0 {
		o.RetryPeriod = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	cfg := rest.CopyConfig(o.Config)
	cfg.UserAgent = "gitlaunch-leader-election"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("kube: leader election client: %w", err)
	}
	lock := &heldLock{Interface: &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: o.LeaseName, Namespace: o.Namespace},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: o.Identity},
	}}
	log := o.Logger.With("lease", o.Namespace+"/"+o.LeaseName, "identity", o.Identity)
	runDone := make(chan struct{})
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:          lock,
		Name:          o.LeaseName,
		LeaseDuration: o.LeaseDuration,
		RenewDeadline: o.RenewDeadline,
		RetryPeriod:   o.RetryPeriod,
		// Released below, once run has returned.
		ReleaseOnCancel: false,
		Callbacks: leaderelection.LeaderCallbacks{
			// client-go calls this in a goroutine of its own, once the
			// lease is acquired; we wait for it through runDone.
			OnStartedLeading: func(lctx context.Context) {
				defer close(runDone)
				if lctx.Err() != nil {
					return
				}
				log.Info("kube: leading")
				run(lctx)
			},
			OnStoppedLeading: func() {},
			OnNewLeader: func(id string) {
				if id != o.Identity {
					log.Info("kube: another syncer leads", "leader", id)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("kube: leader election: %w", err)
	}
	le.Run(ctx) // returns when ctx ends or the lease is lost
	if !lock.held.Load() {
		return nil // never led: ctx ended while waiting
	}
	<-runDone
	release(lock, o.Identity, log)
	if ctx.Err() != nil {
		return nil
	}
	log.Warn("kube: lost the leader lease")
	return ErrLeaseLost
}

// heldLock notes whether this process ever wrote the lease (the elector
// writes only its own identity): then it acquired it, and client-go has
// started (or is about to start) OnStartedLeading.
type heldLock struct {
	resourcelock.Interface
	held atomic.Bool
}

func (l *heldLock) Create(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Create(ctx, r)
	if err == nil {
		l.held.Store(true)
	}
	return err
}

func (l *heldLock) Update(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Update(ctx, r)
	if err == nil {
		l.held.Store(true)
	}
	return err
}

// release gives the lease up when this process still holds it, so that a
// successor need not wait for it to expire.
func release(lock resourcelock.Interface, identity string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec, _, err := lock.Get(ctx)
	if err != nil {
		if !apierrors.IsNotFound(err) {
			log.Warn("kube: read the lease to release it", "err", err)
		}
		return
	}
	if rec.HolderIdentity != identity {
		return
	}
	now := metav1.NewTime(time.Now())
	err = lock.Update(ctx, resourcelock.LeaderElectionRecord{
		LeaderTransitions:    rec.LeaderTransitions,
		LeaseDurationSeconds: 1,
		RenewTime:            now,
		AcquireTime:          now,
	})
	if err != nil {
		log.Warn("kube: release the lease", "err", err)
		return
	}
	log.Info("kube: lease released")
}
