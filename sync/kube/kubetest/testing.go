package kubetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Start starts a control plane for one test and stops it when the test ends.
// Missing binaries fail the test, or skip it when GITLAUNCH_SKIP_KUBE=1.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	opts = append([]Option{WithLogger(logger)}, opts...)
	e, err := New(t.Context(), opts...)
	if err != nil {
		if errors.Is(err, ErrMissingBinaries) && skipRequested() {
			t.Skipf("kubetest: %v", err)
		}
		t.Fatalf("kubetest: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kubetest: component logs:\n%s", e.logTails(40))
		}
		if err := e.Stop(); err != nil {
			t.Errorf("kubetest: stop: %v", err)
		}
	})
	return e
}

// sharedSkip says why Main ran the tests without a control plane.
var sharedSkip string

// Main starts one control plane for a package's tests, stores it in *env,
// runs them, and stops it. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, &kube)) }
//
// and get the Env in tests with Need. When binaries are missing Main fails
// the package, or, with GITLAUNCH_SKIP_KUBE=1, leaves *env nil so that Need
// skips every test that wants it.
func Main(m *testing.M, env **Env, opts ...Option) int {
	e, err := New(context.Background(), opts...)
	if err != nil {
		if errors.Is(err, ErrMissingBinaries) && skipRequested() {
			sharedSkip = err.Error()
			fmt.Fprintf(os.Stderr, "kubetest: tests needing Kubernetes will skip: %v\n", err)
			return m.Run()
		}
		fmt.Fprintf(os.Stderr, "kubetest: %v\n", err)
		return 1
	}
	*env = e
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "kubetest: component logs:\n%s", e.logTails(40))
	}
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "kubetest: stop: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	*env = nil
	return code
}

// Need returns env, the control plane Main started, or skips the test when
// Main left it nil because binaries are missing and GITLAUNCH_SKIP_KUBE=1.
func Need(t testing.TB, env *Env) *Env {
	t.Helper()
	if env != nil {
		return env
	}
	if sharedSkip != "" {
		t.Skipf("kubetest: %s", sharedSkip)
	}
	t.Fatal("kubetest: no control plane; call kubetest.Main from TestMain")
	return nil
}

// RestartAPIServer is RestartAPIServerContext for tests: it fails the test
// when the API server does not come back within a minute.
func (e *Env) RestartAPIServer(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := e.RestartAPIServerContext(ctx); err != nil {
		t.Fatalf("kubetest: %v", err)
	}
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a namespace for the test, with the "default"
// ServiceAccount a controller-manager would have made. When the test ends
// its Pods are deleted, then the namespace (which stays Terminating: there
// is no namespace controller).
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	prefix := nonName.ReplaceAllString(strings.ToLower(t.Name()), "-")
	prefix = strings.Trim(prefix, "-")
	if len(prefix) > 40 {
		prefix = strings.TrimRight(prefix[:40], "-")
	}
	ctx := t.Context()
	ns, err := e.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("kubetest: create namespace: %v", err)
	}
	_, err = e.Client.CoreV1().ServiceAccounts(ns.Name).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("kubetest: create default ServiceAccount: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := e.Client.CoreV1().Pods(ns.Name).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		if err != nil {
			t.Logf("kubetest: delete pods in %s: %v", ns.Name, err)
		}
		err = e.Client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Logf("kubetest: delete namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// WaitForPod polls the Pod until cond returns true or an error, or ctx ends,
// and returns the last Pod seen.
func (e *Env) WaitForPod(ctx context.Context, namespace, name string, cond func(*corev1.Pod) (bool, error)) (*corev1.Pod, error) {
	var last *corev1.Pod
	var lastErr error
	for {
		p, err := e.Client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = p
			ok, cerr := cond(p)
			if cerr != nil {
				return p, cerr
			}
			if ok {
				return p, nil
			}
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if last == nil {
				return nil, fmt.Errorf("wait for pod %s/%s: %w (last error: %w)", namespace, name, ctx.Err(), lastErr)
			}
			return last, fmt.Errorf("wait for pod %s/%s (phase %s): %w", namespace, name, last.Status.Phase, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// PodPhase is a WaitForPod condition: the Pod is in one of phases.
func PodPhase(phases ...corev1.PodPhase) func(*corev1.Pod) (bool, error) {
	return func(p *corev1.Pod) (bool, error) {
		for _, ph := range phases {
			if p.Status.Phase == ph {
				return true, nil
			}
		}
		return false, nil
	}
}
