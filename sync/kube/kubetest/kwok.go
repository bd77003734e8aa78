package kubetest

import (
	"context"
	"crypto/tls"
	"embed"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Annotations on a Pod that steer what kwok does with it; see stages/pod.yaml.
const (
	// AnnotationStartDelay is a Go duration kwok waits before starting a bound Pod.
	AnnotationStartDelay = "gitlaunch.dev/kwok-start-delay"
	// AnnotationDuration is a Go duration the Pod runs (default 2s), or
	// DurationNever.
	AnnotationDuration = "gitlaunch.dev/kwok-duration"
	// AnnotationExitCode is the exit code of every container; non-zero ends
	// the Pod Failed.
	AnnotationExitCode = "gitlaunch.dev/kwok-exit-code"
	// AnnotationReason is the containers' termination reason, e.g. OOMKilled.
	AnnotationReason = "gitlaunch.dev/kwok-reason"
	// AnnotationMessage is the containers' termination message.
	AnnotationMessage = "gitlaunch.dev/kwok-message"
	// AnnotationPodReason is the Pod's status reason when it finishes (e.g.
	// Evicted, DeadlineExceeded); it ends the Pod Failed.
	AnnotationPodReason = "gitlaunch.dev/kwok-pod-reason"
	// AnnotationWaitingReason keeps a bound Pod Pending with its containers
	// waiting for this reason, e.g. ImagePullBackOff.
	AnnotationWaitingReason = "gitlaunch.dev/kwok-waiting-reason"
	// AnnotationWaitingMessage is the message of that waiting state.
	AnnotationWaitingMessage = "gitlaunch.dev/kwok-waiting-message"

	// DurationNever as AnnotationDuration keeps a Pod running until deleted.
	DurationNever = "never"
)

//go:embed stages/*.yaml
var stageFiles embed.FS

// kwokConfig renders kwok's --config file: its options, our Stages, and a
// ClusterLogs that serves logFile for every container.
func kwokConfig(logFile string) (string, error) {
	var b strings.Builder
	b.WriteString(`apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
metadata:
  name: gitlaunch-kubetest
options:
  enableDebuggingHandlers: true
  podPlayStageParallelism: 4
  nodePlayStageParallelism: 2
  nodeLeaseParallelism: 2
  podsOnNodeSyncParallelism: 2
  nodeLeaseDurationSeconds: 40
`)
	entries, err := stageFiles.ReadDir("stages")
	if err != nil {
		return "", fmt.Errorf("read embedded stages: %w", err)
	}
	for _, e := range entries {
		data, err := stageFiles.ReadFile("stages/" + e.Name())
		if err != nil {
			return "", fmt.Errorf("read stage %s: %w", e.Name(), err)
		}
		b.WriteString("---\n")
		b.Write(data)
		if !strings.HasSuffix(string(data), "\n") {
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, `---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: gitlaunch-kubetest-logs
spec:
  selector: {}
  logs:
  - logsFile: %s
`, strconv.Quote(logFile))
	return b.String(), nil
}

// criLogLines renders lines in the CRI log format the kubelet reads
// ("<RFC3339Nano> stdout F <line>").
func criLogLines(lines ...string) []byte {
	var b strings.Builder
	now := time.Now().UTC()
	for i, l := range lines {
		ts := now.Add(time.Duration(i) * time.Microsecond).Format(time.RFC3339Nano)
		fmt.Fprintf(&b, "%s stdout F %s\n", ts, l)
	}
	return []byte(b.String())
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitHealthy polls url over TLS verified with cert until it answers 200,
// the process exits, or ctx ends.
func waitHealthy(ctx context.Context, url string, cert *servingCert, p *process) error {
	client := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: cert.pool, MinVersion: tls.VersionTLS12},
		},
	}
	defer client.CloseIdleConnections()
	var last string
	for {
		if done, err := p.exited(); done {
			return fmt.Errorf("%s exited before it was healthy: %w; last log lines:\n%s", p.name, err, tail(p.logPath, 30))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("health request: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy at %s (last: %s): %w; last log lines:\n%s", p.name, url, last, ctx.Err(), tail(p.logPath, 30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startKwok writes kwok's configuration into dir and starts it.
func startKwok(ctx context.Context, e *Env) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	cfg, err := kwokConfig(e.PodLogFile)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(e.Dir, "kwok.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("write kwok config: %w", err)
	}
	home := filepath.Join(e.Dir, "kwok-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("create kwok home: %w", err)
	}
	args := []string{
		"--config", cfgPath,
		"--kubeconfig", filepath.Join(e.Dir, "kwok.kubeconfig"),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + FakeNodeAnnotation + "=" + FakeNodeValue,
		"--node-ip=127.0.0.1",
		"--node-port=" + strconv.Itoa(port),
		"--server-address=127.0.0.1:" + strconv.Itoa(port),
		"--tls-cert-file", e.cert.certFile,
		"--tls-private-key-file", e.cert.keyFile,
		"--cidr=10.244.0.0/16",
		"--enable-crds=Logs",
	}
	// kwok reads ~/.kwok/kwok.yaml besides --config; give it an empty home.
	env := append(scrubEnv(os.Environ(), "HOME=", "KUBECONFIG="), "HOME="+home)
	p, err := startProcess("kwok", e.Assets.Kwok, args, env, filepath.Join(e.Dir, "kwok.log"))
	if err != nil {
		return err
	}
	e.kwok = p
	e.kwokPort = port
	return waitHealthy(ctx, fmt.Sprintf("https://127.0.0.1:%d/healthz", port), e.cert, p)
}
