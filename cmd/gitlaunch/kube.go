package main

import (
	"context"
	"fmt"
	"os"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/kube"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// kubeConfig is the client configuration: the config's kubeconfig, else
// $KUBECONFIG, else the in-cluster service account.
func (a *app) kubeConfig() (*rest.Config, error) {
	path := a.resolve(a.cfg.Kube.Kubeconfig)
	if path == "" {
		path = os.Getenv("KUBECONFIG")
	}
	if path != "" {
		c, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
		}
		return c, nil
	}
	c, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("no kubeconfig given (kube.kubeconfig or $KUBECONFIG) and not in a cluster: %w", err)
	}
	return c, nil
}

func (a *app) kubeExecutor(ctx context.Context) (engine.Executor, error) {
	cfg, err := a.kubeConfig()
	if err != nil {
		return nil, err
	}
	return kube.New(ctx, kube.Options{
		Config: cfg, Namespace: a.cfg.Namespace, QPS: a.cfg.Kube.QPS, Burst: a.cfg.Kube.Burst,
		PodTTL: a.cfg.Kube.PodTTL.Duration, ResultsDir: a.cfg.Results.MountPath, Logger: a.log,
	})
}

// runElected runs the engine while this process holds the syncer Lease, so
// that of several replicas only one launches runs; without leader election
// it just runs.
func (a *app) runElected(ctx context.Context, eng *engine.Engine) error {
	if a.cfg.Executor != "kube" || !a.cfg.Kube.LeaderElection {
		return eng.Run(ctx)
	}
	cfg, err := a.kubeConfig()
	if err != nil {
		return err
	}
	id := os.Getenv("POD_NAME")
	if id == "" {
		id, _ = os.Hostname()
	}
	var runErr error
	err = kube.RunWithLeaderElection(ctx, cfg, a.cfg.Namespace, id, func(ctx context.Context) {
		runErr = eng.Run(ctx)
	})
	if err != nil {
		return err
	}
	return runErr
}
