package daemon

import (
	"context"
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/kube"
	"github.com/gitlaunch/gitlaunch/sync/local"
)

// kubeConfig is the client configuration: the test's, else the config's
// kubeconfig, else $KUBECONFIG, else the in-cluster service account.
func (d *Daemon) kubeConfig() (*rest.Config, error) {
	if d.opts.KubeConfig != nil {
		return d.opts.KubeConfig, nil
	}
	path := d.setup.Config.Resolve(d.setup.Config.Kube.Kubeconfig)
	if path == "" {
		path = d.opts.Getenv("KUBECONFIG")
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

// openExecutor builds the configured executor.
func (d *Daemon) openExecutor(ctx context.Context) (engine.Executor, error) {
	if d.opts.Executor != nil {
		return d.opts.Executor, nil
	}
	cfg := d.setup.Config
	switch cfg.Executor {
	case "kube":
		rc, err := d.kubeConfig()
		if err != nil {
			return nil, err
		}
		return kube.New(ctx, kube.Options{
			Config: rc, Namespace: cfg.Namespace, QPS: cfg.Kube.QPS, Burst: cfg.Kube.Burst,
			PodTTL: cfg.Kube.PodTTL.Duration, ResultsDir: cfg.Results.MountPath, Logger: d.log,
		})
	case "", "local":
		ds := map[string]string{}
		for name, s := range cfg.Datasets {
			if s.LocalPath != "" {
				ds[name] = s.LocalPath
			}
		}
		return local.New(local.Options{DataDir: d.dataDir, Checkout: d.repos, Datasets: ds, Logger: d.log,
			Hide: local.ConfigSecrets(cfg), AllowUnsandboxed: cfg.Local.AllowUnsandboxed,
			KillGrace: d.opts.KillGrace, FlushInterval: d.opts.FlushInterval})
	default:
		return nil, fmt.Errorf("executor %q is not available in this build", cfg.Executor)
	}
}

// runEngine runs the engine while this process holds the syncer Lease, so
// that of several replicas only one launches runs; without leader election
// it just runs.
func (d *Daemon) runEngine(ctx context.Context) error {
	cfg := d.setup.Config
	if cfg.Executor != "kube" || !cfg.Kube.LeaderElection {
		return d.eng.Run(ctx)
	}
	rc, err := d.kubeConfig()
	if err != nil {
		return err
	}
	var runErr error
	err = kube.RunWithLeaderElection(ctx, rc, cfg.Namespace, d.opts.Identity, func(ctx context.Context) {
		runErr = d.eng.Run(ctx)
	})
	if err != nil {
		return err
	}
	return runErr
}
