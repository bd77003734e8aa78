package kube

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitlaunch/gitlaunch/sync/kube/kubetest"
)

// candidate is one syncer replica standing for the lease.
type candidate struct {
	id     string
	cancel context.CancelFunc
	done   chan struct{} // closed when RunElected returned err
	err    error
}

func TestLeaderElection(t *testing.T) {
	env := kubetest.Need(t, kube)
	ns := env.Namespace(t)
	var leaders, most atomic.Int32
	led := make(chan string, 4)
	lost := make(chan string, 4)
	stand := func(id string) *candidate {
		ctx, cancel := context.WithCancel(t.Context())
		c := &candidate{id: id, cancel: cancel, done: make(chan struct{})}
		opts := LeaderOptions{Config: env.Config, Namespace: ns, Identity: id,
			LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond}
		go func() {
			defer close(c.done)
			c.err = RunElected(ctx, opts, func(ctx context.Context) {
				n := leaders.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				led <- id
				<-ctx.Done()
				leaders.Add(-1)
				lost <- id
			})
		}()
		t.Cleanup(func() {
			cancel()
			<-c.done
		})
		return c
	}
	next := func(ch chan string, what string, d time.Duration) string {
		t.Helper()
		select {
		case id := <-ch:
			return id
		case <-time.After(d):
			t.Fatalf("no %s within %s", what, d)
		}
		return ""
	}

	a, b := stand("syncer-a"), stand("syncer-b")
	first := next(led, "leader", 30*time.Second)
	select {
	case id := <-led:
		t.Fatalf("%s leads while %s does", id, first)
	case <-time.After(3 * time.Second): // longer than a lease
	}
	leader, other := a, b
	if first == b.id {
		leader, other = b, a
	}

	// The leader stops: it releases the lease once its run has returned,
	// and the other takes over without waiting for the lease to expire.
	began := time.Now()
	leader.cancel()
	<-leader.done
	if leader.err != nil {
		t.Errorf("a leader whose context ended returned %v", leader.err)
	}
	if got := next(lost, "stopped run", time.Second); got != leader.id {
		t.Errorf("%s stopped, want %s", got, leader.id)
	}
	if got := next(led, "new leader", 10*time.Second); got != other.id {
		t.Fatalf("%s leads, want %s", got, other.id)
	}
	t.Logf("handover took %s", time.Since(began).Round(time.Millisecond))
	if most.Load() != 1 {
		t.Errorf("%d candidates ran at once", most.Load())
	}

	// Someone else takes the lease: the leader's run is cancelled and
	// RunElected says so.
	leases := env.Client.CoordinationV1().Leases(ns)
	for attempt := 0; ; attempt++ {
		lease, err := leases.Get(t.Context(), DefaultLeaseName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		intruder, secs, now := "intruder", int32(60), metav1.NewMicroTime(time.Now())
		lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds, lease.Spec.RenewTime = &intruder, &secs, &now
		_, err = leases.Update(t.Context(), lease, metav1.UpdateOptions{})
		if err == nil {
			break
		}
		if !apierrors.IsConflict(err) || attempt == 20 {
			t.Fatal(err)
		}
	}
	if got := next(lost, "cancelled run", 10*time.Second); got != other.id {
		t.Errorf("%s stopped, want %s", got, other.id)
	}
	<-other.done
	if !errors.Is(other.err, ErrLeaseLost) {
		t.Errorf("after losing the lease: %v, want ErrLeaseLost", other.err)
	}
}

func TestLeaderElectionNeedsIdentity(t *testing.T) {
	if err := RunWithLeaderElection(t.Context(), nil, "ns", "", func(context.Context) {}); err == nil {
		t.Error("no config and no identity accepted")
	}
}
