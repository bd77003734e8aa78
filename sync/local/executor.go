package local

import (
	"context"
	"errors"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// Checkouter puts a repository at a commit into a folder. The CLI wires it
// to sync/git; dest does not exist yet and Checkout creates it.
type Checkouter interface {
	Checkout(ctx context.Context, repoURL, sha, dest string) error
}

// Options configure an Executor.
type Options struct {
	// DataDir holds the runs, each in <DataDir>/runs/<run-id>/.
	DataDir string
	// Checkout fetches the commit into a run's workspace.
	Checkout Checkouter
	// Datasets maps a dataset volume name ("dataset-mnist") or a dataset
	// name ("mnist") to a folder on this machine (the config's localPath).
	Datasets map[string]string
	// Isolation is "auto" (default: bwrap, else unshare as root, else
	// none), "bwrap", "unshare" or "none".
	Isolation string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Clock stamps updates; default time.Now.
	Clock func() time.Time
	// KillGrace is how long a cancelled or timed-out job has between
	// SIGTERM and SIGKILL; default 10s.
	KillGrace time.Duration
	// FlushInterval bounds how long output waits before it is passed to
	// the sink; default 200ms. Chunks are at most 64 KiB.
	FlushInterval time.Duration
	// Hide lists more files and folders of this machine that the sandbox
	// covers, such as the config's credential files (ConfigSecrets).
	// DataDir and the usual credential stores in the syncer user's home
	// are always hidden.
	Hide []string
	// AllowUnsandboxed lets runs that get secrets start when the machine
	// offers no sandbox (isolation unshare or none). Without it they end
	// in StateError, saying why.
	AllowUnsandboxed bool
	// MinFree is the room DataDir's file system must keep: below it, the
	// runs there are stopped and end in StateError ("data directory full"),
	// as a kubelet evicts Pods under disk pressure. Default 1 MiB;
	// negative: never.
	MinFree int64
}

// DefaultMinFree is Options.MinFree's default.
const DefaultMinFree = 1 << 20

// pollInterval is how often a follower checks whether its process ended
// and reads output it was not woken for.
const pollInterval = 100 * time.Millisecond

// errCancelled is the cause of a cancelled clone.
var errCancelled = errors.New("cancelled")

// Executor runs launches as processes on this machine. It implements
// engine.Executor. Close it to stop following runs; the processes go on and
// a new Executor on the same DataDir adopts them.
type Executor struct {
	opts Options
	iso  isolator
	sh   string // absolute path of sh, for the outer script
	log  *slog.Logger
	now  func() time.Time
	runs string // <DataDir>/runs

	base context.Context // followers' context; cancelled by Close
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	following map[string]*follower
	starting  map[string]context.CancelCauseFunc
}

var _ engine.Executor = (*Executor)(nil)

// New checks the options and picks the isolation mode, probing that it
// works on this machine.
func New(opts Options) (*Executor, error) {
	if opts.DataDir == "" {
		return nil, errors.New("local executor: DataDir is required")
	}
	if opts.Checkout == nil {
		return nil, errors.New("local executor: Checkout is required")
	}
	data, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("local executor: data dir: %w", err)
	}
	opts.DataDir = data
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.KillGrace <= 0 {
		opts.KillGrace = 10 * time.Second
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 200 * time.Millisecond
	}
	if opts.MinFree == 0 {
		opts.MinFree = DefaultMinFree
	}
	if data == "/" {
		return nil, errors.New("local executor: the data directory cannot be /")
	}
	// Only the syncer's user may enter the runs: a job may leave anything
	// in its workspace, a set-user-ID program of the syncer's user too.
	runs := filepath.Join(data, "runs")
	if err := os.MkdirAll(runs, 0o700); err != nil {
		return nil, fmt.Errorf("local executor: %w", err)
	}
	if err := os.Chmod(runs, 0o700); err != nil {
		return nil, fmt.Errorf("local executor: %w", err)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		return nil, fmt.Errorf("local executor needs sh: %w", err)
	}
	if sh, err = filepath.Abs(sh); err != nil {
		return nil, fmt.Errorf("local executor: %w", err)
	}
	iso, err := pickIsolation(context.Background(), opts.Isolation, sh)
	if err != nil && iso == nil {
		return nil, fmt.Errorf("local executor: %w", err)
	}
	log := opts.Logger.With("executor", "local")
	switch {
	case iso.name() == IsolationNone:
		log.Warn("local runs are not isolated: jobs run in their workspace folder and see this machine's /mnt", "why", errString(err, iso.name()))
	case !iso.sandboxed():
		log.Warn("local runs are not sandboxed: jobs may read and write this machine as the syncer's user", "isolation", iso.name(), "why", errString(err, iso.name()))
	}
	if !iso.sandboxed() {
		if opts.AllowUnsandboxed {
			log.Warn("runs with secrets start unsandboxed (allowUnsandboxed): any job may read them")
		} else {
			log.Warn("runs with secrets will not start without a sandbox: install bubblewrap (bwrap)")
		}
	}
	base, stop := context.WithCancel(context.Background())
	return &Executor{
		opts: opts, iso: iso, sh: sh, log: log, now: opts.Clock, runs: runs,
		base: base, stop: stop,
		following: map[string]*follower{},
		starting:  map[string]context.CancelCauseFunc{},
	}, nil
}

func errString(err error, mode string) string {
	if err == nil {
		return "isolation " + mode + " was asked for"
	}
	return err.Error()
}

// Isolation names the mode in use: "bwrap", "unshare" or "none".
func (e *Executor) Isolation() string { return e.iso.name() }

// Close stops following runs and waits for the followers to end. It does
// not stop the processes: a later Executor adopts them.
func (e *Executor) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.stop()
	e.wg.Wait()
	return nil
}

func (e *Executor) dir(id string) runDir { return runDir(filepath.Join(e.runs, id)) }

// Cancel stops a run: SIGTERM to the job's processes, SIGKILL to all of
// them after KillGrace. The terminal update (StateCancelled) follows at the
// sink. A run that is still being cloned is not launched.
func (e *Executor) Cancel(ctx context.Context, runID string) error {
	if !runIDPattern.MatchString(runID) {
		return fmt.Errorf("cancel %q: %w", runID, engine.ErrNotFound)
	}
	e.mu.Lock()
	if f := e.following[runID]; f != nil {
		e.mu.Unlock()
		f.requestStop(stopCancelled)
		return nil
	}
	if cancel := e.starting[runID]; cancel != nil {
		e.mu.Unlock()
		cancel(errCancelled)
		return nil
	}
	e.mu.Unlock()

	// Not followed here: stop the process directly; whoever adopts the run
	// later finds the stop file and reports it cancelled.
	d := e.dir(runID)
	info, err := d.readProcessInfo()
	if err != nil || !alive(info.PID, info.ProcStart) {
		return fmt.Errorf("cancel run %s: no live process: %w", runID, engine.ErrNotFound)
	}
	if err := d.writeStop(stopCancelled); err != nil {
		return fmt.Errorf("cancel run %s: %w", runID, err)
	}
	if err := signalJob(info.PID, info.Isolation != IsolationNone, termSignal); err != nil {
		e.log.Warn("cancel: SIGTERM", "run", runID, "err", err)
	}
	t := time.NewTimer(e.opts.KillGrace)
	defer t.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for jobAlive(info) {
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-tick.C:
			continue
		}
		break
	}
	return killGroup(info.PID, killSignal)
}

// jobAlive reports whether any process of the run's group is left.
func jobAlive(info processInfo) bool {
	m, err := groupMembers(info.PID)
	return err != nil || len(m) > 0
}
