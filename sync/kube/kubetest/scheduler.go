package kubetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// startScheduler starts kube-scheduler against the test API server, with
// leader election off, serving its health endpoints on loopback only.
func startScheduler(ctx context.Context, e *Env) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(e.Dir, "scheduler.kubeconfig")
	cfgPath := filepath.Join(e.Dir, "scheduler.yaml")
	cfg := fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: 200
  burst: 400
leaderElection:
  leaderElect: false
`, kubeconfig)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("write scheduler config: %w", err)
	}
	certDir := filepath.Join(e.Dir, "scheduler-certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return fmt.Errorf("create scheduler cert dir: %w", err)
	}
	args := []string{
		"--config=" + cfgPath,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + certDir,
		"--tls-cert-file=" + e.cert.certFile,
		"--tls-private-key-file=" + e.cert.keyFile,
	}
	env := scrubEnv(os.Environ(), "KUBECONFIG=")
	p, err := startProcess("kube-scheduler", e.Assets.Scheduler, args, env, filepath.Join(e.Dir, "kube-scheduler.log"))
	if err != nil {
		return err
	}
	e.scheduler = p
	return waitHealthy(ctx, fmt.Sprintf("https://127.0.0.1:%d/readyz", port), e.cert, p)
}
