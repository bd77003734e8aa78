package daemon

import (
	"io"
	"log/slog"
	"os"
	"time"

	"k8s.io/client-go/rest"

	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// Role says how much of a syncer a process needs.
type Role int

const (
	// RoleReader opens the config and the run store only, and never
	// creates a store: `runs` and `logs`.
	RoleReader Role = iota
	// RoleDispatcher takes the data directory's dispatch lock and fails
	// when another process holds it: `sync`.
	RoleDispatcher
	// RoleAuto dispatches when the lock is free; otherwise it plans and
	// watches only, and hands cancellations to the dispatching process:
	// `run` and `cancel`.
	RoleAuto
)

// Options configure Open. Only what a command line or a test decides is
// here; everything else comes from the admin's config.
type Options struct {
	// ConfigPath is the admin's gitlaunch.yaml; "" means the defaults.
	ConfigPath string
	// DataDir overrides $GITLAUNCH_DATA and the config's sync.dataDir;
	// the default is .gitlaunch.
	DataDir string
	Role    Role
	// Repos are watched besides the config's: local paths or URLs.
	Repos []string
	// OnlyJobs limits planning to jobs with these names.
	OnlyJobs []string
	// Listen overrides the config's sync.listen; "" keeps it. The address
	// is bound by Open, so Addr is known before Run.
	Listen string
	// Console receives one line per state change; nil: no console reporter.
	Console io.Writer
	// NoGitHub leaves GitHub out even when repositories name one (manual
	// runs and cancellations report to the console only).
	NoGitHub bool
	// Getenv reads tokens and secrets given as environment; default os.Getenv.
	Getenv func(string) string
	Logger *slog.Logger

	// Seams for tests that need a part the config cannot name.

	// KubeConfig replaces the kubeconfig/in-cluster client configuration.
	KubeConfig *rest.Config
	// Executor replaces the configured executor.
	Executor engine.Executor
	Clock    engine.Clock
	// PollInterval overrides the config's sync.pollInterval (and the
	// longer default used with webhooks).
	PollInterval time.Duration
	// KillGrace and FlushInterval tune the local executor (its defaults:
	// 10s and 200ms); tests shorten them.
	KillGrace, FlushInterval time.Duration
	// Identity names this replica for leader election; default $POD_NAME,
	// else the host name.
	Identity string
	// RetentionEvery is the time between retention sweeps; default 10m.
	RetentionEvery time.Duration
}

func (o *Options) defaults() {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Identity == "" {
		o.Identity = o.Getenv("POD_NAME")
	}
	if o.Identity == "" {
		o.Identity, _ = os.Hostname()
	}
}

// webhookPollInterval is the safety-net poll interval when webhooks bring
// changes: polling only catches what a lost delivery missed.
const webhookPollInterval = 5 * time.Minute
