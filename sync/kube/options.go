package kube

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Defaults for Options fields left zero.
const (
	DefaultQPS          = 200
	DefaultBurst        = 400
	DefaultPodTTL       = 10 * time.Minute
	DefaultCancelGrace  = 30 * time.Second
	DefaultPullGrace    = 5 * time.Minute
	DefaultOrphanTTL    = 24 * time.Hour
	DefaultCursorPeriod = 30 * time.Second
	DefaultLogDrain     = 30 * time.Second

	// DeleteAtOnce as Options.PodTTL deletes finished Pods as soon as
	// their logs and results are saved.
	DeleteAtOnce time.Duration = -1
)

// Options configure an Executor.
type Options struct {
	// Config is the client configuration. When nil, Kubeconfig is loaded,
	// and when that is empty too, the in-cluster configuration.
	Config     *rest.Config
	Kubeconfig string
	// Namespace where run Pods are created and watched (required).
	Namespace string
	// QPS and Burst bound the request rate (defaults 200 and 400: a burst of 1,000 runs becomes Pods in seconds) of each of
	// the executor's two clients: one launches, reads and cancels Pods,
	// the other streams logs and cleans up. They replace Config's values.
	// At the defaults, Pods are created at about 20/s; a burst of 1,000
	// runs at 100/s or more needs QPS ≥ 100.
	QPS   float32
	Burst int
	// PodTTL is how long a finished Pod stays after its logs and results
	// were saved: 0 means the default (10m), DeleteAtOnce (any negative
	// value) deletes it as soon as they are saved.
	PodTTL time.Duration
	// OrphanTTL is how long a finished Pod that no executor followed to
	// the end (its syncer was gone) is kept for adoption (default 24h).
	OrphanTTL time.Duration
	// ResultsDir is where this process sees the shared results volume; a
	// run's workspace is the subPath its Pod mounts (runs/<id>). Empty:
	// artifacts and the metrics file are not read.
	ResultsDir string
	// CancelGrace is the deletion grace period Cancel gives a Pod
	// (default 30s).
	CancelGrace time.Duration
	// PullGrace is how long an image that cannot be pulled (or a container
	// that cannot be created) may keep a run pending before it ends in
	// StateError (default 5m). Hopeless reasons (InvalidImageName,
	// ErrImageNeverPull) end it at once.
	PullGrace time.Duration
	// CursorPeriod is how often the log position of a running Pod is
	// saved on it (annotation), so that a restarted syncer resumes its log
	// without repeating lines (default 30s; negative: only on Close).
	CursorPeriod time.Duration
	// LogDrain bounds how long a finished run waits for its log to be
	// read to the end (default 30s).
	LogDrain time.Duration
	Logger   *slog.Logger
	Clock    engine.Clock
}

// withDefaults fills in zero fields and checks the rest.
func (o Options) withDefaults() (Options, error) {
	if o.Namespace == "" {
		return o, errors.New("kube: Options.Namespace is required")
	}
	if o.QPS == 0 {
		o.QPS = DefaultQPS
	}
	if o.Burst == 0 {
		o.Burst = DefaultBurst
	}
	if o.QPS < 0 || o.Burst < 0 {
		return o, fmt.Errorf("kube: QPS %v and Burst %d must not be negative", o.QPS, o.Burst)
	}
	switch {
	case o.PodTTL == 0:
		o.PodTTL = DefaultPodTTL
	case o.PodTTL < 0:
		o.PodTTL = 0 // from here on, 0 means at once
	}
	if o.OrphanTTL <= 0 {
		o.OrphanTTL = DefaultOrphanTTL
	}
	if o.CancelGrace <= 0 {
		o.CancelGrace = DefaultCancelGrace
	}
	if o.PullGrace <= 0 {
		o.PullGrace = DefaultPullGrace
	}
	if o.CursorPeriod == 0 {
		o.CursorPeriod = DefaultCursorPeriod
	}
	if o.LogDrain <= 0 {
		o.LogDrain = DefaultLogDrain
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = engine.SystemClock
	}
	return o, nil
}

// restConfig returns the client configuration the options name, with QPS
// and Burst applied to a copy.
func (o Options) restConfig() (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	switch {
	case o.Config != nil:
		cfg = rest.CopyConfig(o.Config)
	case o.Kubeconfig != "":
		cfg, err = clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("kube: load kubeconfig %s: %w", o.Kubeconfig, err)
		}
	default:
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("kube: no Config or Kubeconfig given, and not in a cluster: %w", err)
		}
	}
	cfg.QPS, cfg.Burst = o.QPS, o.Burst
	if cfg.UserAgent == "" {
		cfg.UserAgent = "gitlaunch-syncer"
	}
	return cfg, nil
}
