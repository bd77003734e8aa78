package kubetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// EnvKeep, set to 1, keeps the control plane's working directory (logs,
// kubeconfigs, etcd data) after Stop, and says where it is.
const EnvKeep = "GITLAUNCH_KUBE_KEEP"

// Env is a running test control plane.
type Env struct {
	// Config is an admin (system:masters) client configuration.
	Config *rest.Config
	// Client is a clientset made from Config.
	Client kubernetes.Interface
	// Kubeconfig is the path of a kubeconfig file with the same admin
	// credentials, for kubectl and other programs.
	Kubeconfig string
	// Kubectl is the kubectl binary to use with Kubeconfig.
	Kubectl string
	// Assets are the binaries in use.
	Assets Assets
	// Dir is the working directory: logs of every component, kubeconfigs,
	// etcd's data. It is removed by Stop unless GITLAUNCH_KUBE_KEEP=1.
	Dir string
	// PodLogFile is the CRI-format file kwok serves as the log of every
	// container; see SetPodLog.
	PodLogFile string
	// Nodes are the names of the fake nodes, all Ready when Start returns.
	Nodes []string
	// StartupTime is how long New took, from nothing to Ready nodes.
	StartupTime time.Duration

	logger    *slog.Logger
	testEnv   *envtest.Environment
	cert      *servingCert
	kwok      *process
	kwokPort  int
	scheduler *process
	closers   []io.Closer

	logsMu  sync.Mutex
	podLogs map[types.NamespacedName]map[string]string // pod → container → file

	stopOnce sync.Once
	stopErr  error
}

type options struct {
	nodes          []*corev1.Node
	scheduler      bool
	apiServerFlags map[string][]string
	startTimeout   time.Duration
	logger         *slog.Logger
}

// Option changes how New and Start set the control plane up.
type Option func(*options)

// WithNodes replaces DefaultNodes. The nodes are made kwok's (annotated) if
// they are not already.
func WithNodes(nodes ...*corev1.Node) Option {
	return func(o *options) { o.nodes = nodes }
}

// WithoutScheduler leaves kube-scheduler out: Pods stay unbound unless they
// name their node.
func WithoutScheduler() Option {
	return func(o *options) { o.scheduler = false }
}

// WithAPIServerFlag sets a kube-apiserver flag (name without dashes),
// replacing the value this package would give it.
func WithAPIServerFlag(name string, values ...string) Option {
	return func(o *options) { o.apiServerFlags[name] = values }
}

// WithStartTimeout bounds how long each component may take to start
// (default 60s; the machine may be busy).
func WithStartTimeout(d time.Duration) Option {
	return func(o *options) { o.startTimeout = d }
}

// WithLogger sets where progress is logged (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

var ctrlLogOnce sync.Once

// New starts etcd, kube-apiserver, kwok and kube-scheduler on loopback and
// creates the fake nodes, returning once they are Ready. Call Stop when done.
// When binaries are missing the error wraps ErrMissingBinaries.
func New(ctx context.Context, opts ...Option) (env *Env, retErr error) {
	start := time.Now()
	o := &options{scheduler: true, apiServerFlags: map[string][]string{}, startTimeout: 60 * time.Second}
	for _, opt := range opts {
		opt(o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.nodes == nil {
		o.nodes = DefaultNodes()
	}
	// envtest logs through controller-runtime's logger, which complains when
	// it was never set.
	ctrlLogOnce.Do(func() { ctrllog.SetLogger(logr.FromSlogHandler(slog.Default().Handler())) })

	assets, err := FindAssets()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gitlaunch-kube-")
	if err != nil {
		return nil, fmt.Errorf("create working directory: %w", err)
	}
	e := &Env{
		Assets:     assets,
		Kubectl:    assets.Kubectl,
		Dir:        dir,
		PodLogFile: filepath.Join(dir, "pod.log"),
		Kubeconfig: filepath.Join(dir, "kubeconfig"),
		logger:     o.logger,
	}
	defer func() {
		if retErr != nil {
			logs := e.logTails(20)
			if err := e.Stop(); err != nil {
				retErr = errors.Join(retErr, err)
			}
			retErr = fmt.Errorf("%w\n%s", retErr, logs)
			env = nil
		}
	}()

	ctx, cancel := context.WithTimeout(ctx, 4*o.startTimeout)
	defer cancel()

	if err := e.startControlPlane(o); err != nil {
		return e, err
	}
	apiUp := time.Now()
	if err := e.SetPodLog("kwok: no log was set for this container"); err != nil {
		return e, err
	}
	if e.cert, err = newServingCert(filepath.Join(dir, "serving.crt"), filepath.Join(dir, "serving.key")); err != nil {
		return e, fmt.Errorf("serving certificate: %w", err)
	}
	kctx, kcancel := context.WithTimeout(ctx, o.startTimeout)
	err = startKwok(kctx, e)
	kcancel()
	if err != nil {
		return e, fmt.Errorf("start kwok: %w", err)
	}
	if o.scheduler {
		sctx, scancel := context.WithTimeout(ctx, o.startTimeout)
		err = startScheduler(sctx, e)
		scancel()
		if err != nil {
			return e, fmt.Errorf("start kube-scheduler: %w", err)
		}
	}
	helpersUp := time.Now()
	nctx, ncancel := context.WithTimeout(ctx, o.startTimeout)
	err = e.createNodes(nctx, o.nodes)
	ncancel()
	if err != nil {
		return e, err
	}
	e.StartupTime = time.Since(start)
	e.logger.Info("kubetest: control plane ready",
		"startup", e.StartupTime.Round(time.Millisecond),
		"etcd+apiserver", apiUp.Sub(start).Round(time.Millisecond),
		"kwok+scheduler", helpersUp.Sub(apiUp).Round(time.Millisecond),
		"nodes", (e.StartupTime - helpersUp.Sub(start)).Round(time.Millisecond),
		"server", e.Config.Host, "dir", e.Dir)
	return e, nil
}

// startControlPlane starts etcd and kube-apiserver through envtest and
// provisions the users.
func (e *Env) startControlPlane(o *options) error {
	binDir := filepath.Join(e.Dir, "bin")
	etcdPath := filepath.Join(binDir, "etcd")
	apiPath := filepath.Join(binDir, "kube-apiserver")
	if err := writeWrapper(etcdPath, e.Assets.Etcd, []string{"ETCD_"}); err != nil {
		return err
	}
	if err := writeWrapper(apiPath, e.Assets.APIServer, nil); err != nil {
		return err
	}
	etcdLog, err := logWriter(filepath.Join(e.Dir, "etcd.log"))
	if err != nil {
		return err
	}
	e.closers = append(e.closers, etcdLog)
	apiLog, err := logWriter(filepath.Join(e.Dir, "kube-apiserver.log"))
	if err != nil {
		return err
	}
	e.closers = append(e.closers, apiLog)

	var ports [3]int
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return err
		}
	}
	etcd := &envtest.Etcd{
		Path:    etcdPath,
		DataDir: filepath.Join(e.Dir, "etcd"),
		URL:     &url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(ports[0])},
		Out:     etcdLog,
		Err:     etcdLog,
	}
	if err := os.MkdirAll(etcd.DataDir, 0o700); err != nil {
		return fmt.Errorf("create etcd data dir: %w", err)
	}
	etcd.Configure().
		Set("listen-peer-urls", "http://127.0.0.1:"+strconv.Itoa(ports[1])).
		Set("log-level", "warn")

	certDir := filepath.Join(e.Dir, "apiserver")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return fmt.Errorf("create apiserver dir: %w", err)
	}
	api := &envtest.APIServer{
		Path:    apiPath,
		CertDir: certDir, // kept across RestartAPIServer, so clients stay valid
		SecureServing: envtest.SecureServing{
			ListenAddr: envtest.ListenAddr{Address: "127.0.0.1", Port: strconv.Itoa(ports[2])},
		},
		Out: apiLog,
		Err: apiLog,
	}
	args := api.Configure()
	args.Set("advertise-address", "127.0.0.1")
	// The endpoint reconciler refuses a loopback advertise address.
	args.Set("endpoint-reconciler-type", "none")
	// No controller-manager makes "default" ServiceAccounts, and no
	// node-lifecycle controller removes the not-ready taint from new nodes.
	args.Set("disable-admission-plugins", "ServiceAccount", "TaintNodesByCondition")
	// Fake nodes have a Hostname address nobody can resolve; pod logs are
	// fetched from kwok at the InternalIP (127.0.0.1).
	args.Set("kubelet-preferred-address-types", "InternalIP")
	// On SIGTERM, drain ordinary requests, then give open watches 2s instead
	// of --request-timeout (60s): kwok's and the scheduler's watches would
	// otherwise hold a restart up for a minute.
	args.Set("shutdown-send-retry-after", "true")
	for name, values := range o.apiServerFlags {
		args.Set(name, values...)
	}

	e.testEnv = &envtest.Environment{
		ControlPlane: envtest.ControlPlane{
			APIServer:   api,
			Etcd:        etcd,
			KubectlPath: e.Assets.Kubectl,
		},
		CRDs:                     []*apiextensionsv1.CustomResourceDefinition{logsCRD()},
		BinaryAssetsDirectory:    e.Assets.Dir,
		DownloadBinaryAssets:     false,
		ControlPlaneStartTimeout: o.startTimeout,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	if _, err := e.testEnv.Start(); err != nil {
		return fmt.Errorf("start etcd and kube-apiserver: %w", err)
	}

	base := &rest.Config{QPS: 200, Burst: 400}
	admin, err := e.writeUser(envtest.User{Name: "gitlaunch-admin", Groups: []string{"system:masters"}}, base, e.Kubeconfig)
	if err != nil {
		return err
	}
	e.Config = admin
	if e.Client, err = kubernetes.NewForConfig(e.Config); err != nil {
		return fmt.Errorf("create clientset: %w", err)
	}
	if _, err := e.writeUser(envtest.User{Name: "kwok", Groups: []string{"system:masters"}}, base, filepath.Join(e.Dir, "kwok.kubeconfig")); err != nil {
		return err
	}
	// The scheduler runs as the user the API server's bootstrap RBAC
	// policy grants what a scheduler needs, as in a real cluster.
	if _, err := e.writeUser(envtest.User{Name: "system:kube-scheduler"}, base, filepath.Join(e.Dir, "scheduler.kubeconfig")); err != nil {
		return err
	}
	return nil
}

// writeUser provisions a client-certificate user and writes its kubeconfig.
func (e *Env) writeUser(u envtest.User, base *rest.Config, path string) (*rest.Config, error) {
	au, err := e.testEnv.AddUser(u, base)
	if err != nil {
		return nil, fmt.Errorf("provision user %s: %w", u.Name, err)
	}
	data, err := au.KubeConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig for %s: %w", u.Name, err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("write kubeconfig for %s: %w", u.Name, err)
	}
	return au.Config(), nil
}

// createNodes creates the fake nodes and waits until kwok has made them all
// Ready.
func (e *Env) createNodes(ctx context.Context, nodes []*corev1.Node) error {
	for _, n := range nodes {
		n = n.DeepCopy()
		if n.Annotations == nil {
			n.Annotations = map[string]string{}
		}
		n.Annotations[FakeNodeAnnotation] = FakeNodeValue
		if _, err := e.Client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node %s: %w", n.Name, err)
		}
		e.Nodes = append(e.Nodes, n.Name)
	}
	for _, name := range e.Nodes {
		if err := e.waitNodeReady(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (e *Env) waitNodeReady(ctx context.Context, name string) error {
	for {
		n, err := e.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err == nil && nodeReady(n) {
			return nil
		}
		if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			e.logger.Debug("kubetest: get node", "node", name, "err", err)
		}
		if done, perr := e.kwok.exited(); done {
			return fmt.Errorf("kwok exited while node %s was not Ready: %w", name, perr)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s not Ready: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// SetPodLog replaces the log every container shows (through kwok, for
// "kubectl logs" and the pods/log API) with these lines, on stdout.
func (e *Env) SetPodLog(lines ...string) error {
	tmp := e.PodLogFile + ".tmp"
	if err := os.WriteFile(tmp, criLogLines(lines...), 0o600); err != nil {
		return fmt.Errorf("write pod log: %w", err)
	}
	if err := os.Rename(tmp, e.PodLogFile); err != nil {
		return fmt.Errorf("replace pod log: %w", err)
	}
	return nil
}

// AppendPodLog appends lines to the log every container shows. A client
// following the log (PodLogOptions.Follow) sees them arrive. Note that, unlike
// a kubelet, kwok does not end a followed stream when the container finishes:
// the client must stop reading (cancel its context) on its own, for example
// once it sees the Pod finished.
func (e *Env) AppendPodLog(lines ...string) error {
	f, err := os.OpenFile(e.PodLogFile, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open pod log: %w", err)
	}
	if _, err := f.Write(criLogLines(lines...)); err != nil {
		_ = f.Close()
		return fmt.Errorf("append to pod log: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close pod log: %w", err)
	}
	return nil
}

// RestartAPIServerContext stops kube-apiserver and starts it again on the same
// address with the same certificates, keeping etcd, kwok and the scheduler
// running; clients, watches and informers see the connection drop and
// reconnect. It returns once the new one is ready.
func (e *Env) RestartAPIServerContext(ctx context.Context) error {
	api := e.testEnv.ControlPlane.GetAPIServer()
	began := time.Now()
	if err := api.Stop(); err != nil {
		return fmt.Errorf("stop kube-apiserver: %w", err)
	}
	stopped := time.Now()
	if err := api.Start(); err != nil {
		return fmt.Errorf("start kube-apiserver again: %w", err)
	}
	for {
		body, err := e.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil && string(body) == "ok" {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready after restart: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	e.logger.Info("kubetest: kube-apiserver restarted", "down", stopped.Sub(began).Round(time.Millisecond),
		"total", time.Since(began).Round(time.Millisecond))
	return nil
}

// Stop stops every component (by the PIDs this package started) and removes
// Dir unless GITLAUNCH_KUBE_KEEP=1. It is safe to call more than once.
func (e *Env) Stop() error {
	e.stopOnce.Do(func() {
		var errs []error
		if err := e.scheduler.stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
		if err := e.kwok.stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
		if e.testEnv != nil {
			if err := e.testEnv.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("stop etcd and kube-apiserver: %w", err))
			}
		}
		for _, c := range e.closers {
			_ = c.Close()
		}
		if keep := os.Getenv(EnvKeep); keep == "1" || keep == "true" {
			e.logger.Info("kubetest: keeping working directory", "dir", e.Dir)
		} else if e.Dir != "" {
			if err := os.RemoveAll(e.Dir); err != nil {
				errs = append(errs, fmt.Errorf("remove %s: %w", e.Dir, err))
			}
		}
		e.stopErr = errors.Join(errs...)
	})
	return e.stopErr
}

// logTails returns the last n lines of every component's log.
func (e *Env) logTails(n int) string {
	var out string
	for _, name := range []string{"etcd", "kube-apiserver", "kwok", "kube-scheduler"} {
		p := filepath.Join(e.Dir, name+".log")
		if _, err := os.Stat(p); err != nil {
			continue
		}
		out += fmt.Sprintf("--- last lines of %s ---\n%s\n", p, tail(p, n))
	}
	return out
}
