package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/console"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/store"
)

// Daemon is one syncer process: everything Open built, owned until Close.
type Daemon struct {
	opts    Options
	setup   *Setup
	dataDir string
	log     *slog.Logger

	store *store.Store
	lock  *dirLock // nil unless this process dispatches
	repos *repos
	// watched are the repositories the engine watches, in order.
	watched []*engine.Repo
	exec    engine.Executor
	gh      *gitHub
	eng     *engine.Engine
	http    *httpServer // nil without a listen address

	// closers run in reverse order by Close.
	closers []func() error
}

// Open builds a syncer from opts. A config with problems comes back as
// schema.Problems. What Open built is released by Close, also when Open
// fails half way.
func Open(ctx context.Context, opts Options) (_ *Daemon, err error) {
	opts.defaults()
	d := &Daemon{opts: opts, log: opts.Logger}
	defer func() {
		if err != nil {
			_ = d.Close()
		}
	}()
	if d.setup, err = LoadSetup(opts.ConfigPath); err != nil {
		return nil, err
	}
	if d.dataDir, err = d.setup.DataDir(opts.DataDir, opts.Getenv); err != nil {
		return nil, err
	}
	if err := d.openStore(ctx); err != nil {
		return nil, err
	}
	if opts.Role == RoleReader {
		return d, nil
	}
	if err := d.takeLock(); err != nil {
		return nil, err
	}
	d.keepReserve()
	d.repos = newRepos(d.setup, d.dataDir, d.log)
	if err := d.watch(ctx); err != nil {
		return nil, err
	}
	if err := d.openRunner(ctx); err != nil {
		return nil, err
	}
	if d.gh, err = d.openGitHub(d.watched); err != nil {
		return nil, err
	}
	if d.eng, err = d.openEngine(); err != nil {
		return nil, err
	}
	if err := d.openHTTP(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Daemon) onClose(f func() error) { d.closers = append(d.closers, f) }

// openStore opens the run store; a reader never creates one.
func (d *Daemon) openStore(ctx context.Context) error {
	path := filepath.Join(d.dataDir, "gitlaunch.db")
	open := store.Open
	if d.opts.Role == RoleReader {
		open = store.OpenExisting
	}
	st, err := open(ctx, path)
	if errors.Is(err, store.ErrNoStore) {
		return fmt.Errorf("no runs yet: %w (start `gitlaunch sync` or pass --data-dir)", err)
	}
	if err != nil {
		return fmt.Errorf("open the run store in %s: %w", d.dataDir, err)
	}
	d.store = st
	d.onClose(st.Close)
	if d.opts.Role != RoleReader {
		st.SetLogLimit(int64(d.setup.Config.Sync.LogLimit))
	}
	return nil
}

func (d *Daemon) takeLock() error {
	l, err := lockDir(d.dataDir)
	switch {
	case errors.Is(err, errLocked) && d.opts.Role == RoleAuto:
		return nil // plan and watch only
	case errors.Is(err, errLocked):
		return fmt.Errorf("%w (%s)", err, d.dataDir)
	case err != nil:
		return err
	}
	d.lock = l
	d.onClose(l.Release)
	return nil
}

// watch opens the git cache of every repository: the config's, then those
// named on the command line. RoleAuto (a manual run, a cancellation)
// watches only those named: the config's are the daemon's business.
func (d *Daemon) watch(ctx context.Context) error {
	var specs []schema.Repo
	if d.opts.Role == RoleDispatcher {
		specs = append(specs, d.setup.Config.Repos...)
	}
	for _, arg := range d.opts.Repos {
		spec, err := d.repos.Spec(arg)
		if err != nil {
			return err
		}
		specs = append(specs, spec)
	}
	if len(specs) == 0 && d.opts.Role == RoleDispatcher {
		return errors.New("no repositories to watch: name them as arguments or in the config's repos")
	}
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s.URL] {
			continue // named on the command line and in the config
		}
		seen[s.URL] = true
		r, err := d.repos.Watch(ctx, s)
		if err != nil {
			return err
		}
		d.watched = append(d.watched, r)
	}
	return nil
}

// openRunner builds the executor when this process dispatches; otherwise
// the engine only plans and asks the dispatcher to cancel.
func (d *Daemon) openRunner(ctx context.Context) error {
	if d.lock == nil {
		d.exec = requestExecutor{d.store}
		return nil
	}
	exec, err := d.openExecutor(ctx)
	if err != nil {
		return err
	}
	d.exec = exec
	if c, ok := exec.(io.Closer); ok && d.opts.Executor == nil {
		d.onClose(c.Close)
	}
	return nil
}

func (d *Daemon) openEngine() (*engine.Engine, error) {
	cfg := d.setup.Config
	o := engine.Options{
		Config: cfg, Store: d.store, Executor: d.exec, Repos: d.watched, Logger: d.log, StoreCheck: d.store.Check,
		Clock: d.opts.Clock, PollInterval: d.opts.PollInterval, ValidateWith: d.setup.ValidateWith(), Hidden: d.hidden(),
		Render: func(job *schema.Job, r *engine.Run) (*corev1.Pod, error) {
			return d.setup.RenderPod(job, r, d.repos.secretName(r.RepoURL))
		},
	}
	if d.opts.Console != nil {
		o.Reporters = append(o.Reporters, console.New(d.opts.Console))
	}
	if d.gh != nil {
		o.Reporters = append(o.Reporters, d.gh.reporter)
		o.PRs = d.gh.trust
		if o.PollInterval == 0 && d.gh.secret != "" && cfg.Sync.PollInterval.Duration == schema.DefaultPollInterval {
			o.PollInterval = webhookPollInterval
		}
	}
	eng, err := engine.New(o)
	if err != nil {
		return nil, err
	}
	eng.OnlyJobs(d.opts.OnlyJobs)
	return eng, nil
}

// Run drives the syncer until ctx ends: the webhook worker, the HTTP
// server and the engine (under leader election when configured). It
// returns the first error that stops one of them.
func (d *Daemon) Run(ctx context.Context) error {
	if d.eng == nil || d.lock == nil {
		return errors.New("daemon: Run needs a dispatching daemon (RoleDispatcher)")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 4)
	n := 0
	if sw, err := d.sweeper(); err != nil {
		return err
	} else if sw != nil {
		n++
		go func() { errc <- sw.Run(ctx) }()
	}
	if d.http != nil {
		n++
		go func() { errc <- d.http.serve(ctx) }()
	}
	if d.http != nil && d.http.hook != nil {
		n++
		go func() { errc <- d.http.hook.Run(ctx) }()
	}
	n++
	go func() { errc <- d.runEngine(ctx) }()
	var first error
	for range n {
		err := <-errc
		if err != nil && first == nil && ctx.Err() == nil {
			first = err
		}
		cancel() // one part stopping stops the others
	}
	return first
}

// Once does one full pass: re-adopt what an earlier process left, poll
// every repository, plan, run and wait until the planned runs ended and
// their reports were delivered.
func (d *Daemon) Once(ctx context.Context) ([]*engine.Run, error) {
	if d.lock == nil {
		return nil, errors.New("daemon: Once needs a dispatching daemon")
	}
	if err := d.eng.Recover(ctx); err != nil {
		return nil, err
	}
	var ids []string
	var errs []error
	for _, r := range d.watched {
		runs, err := d.eng.PollRepo(ctx, r.Name)
		if err != nil {
			errs = append(errs, err)
		}
		for _, run := range runs {
			ids = append(ids, run.ID)
		}
	}
	runs, err := d.eng.WaitIdle(ctx, ids)
	if err != nil {
		return runs, err
	}
	return runs, errors.Join(errs...)
}

// Close releases everything Open built, in reverse order.
func (d *Daemon) Close() error {
	var errs []error
	for i := len(d.closers) - 1; i >= 0; i-- {
		errs = append(errs, d.closers[i]())
	}
	d.closers = nil
	return errors.Join(errs...)
}

// Engine is the syncer's engine; nil for RoleReader.
func (d *Daemon) Engine() *engine.Engine { return d.eng }

// Store is the run store.
func (d *Daemon) Store() *store.Store { return d.store }

// DataDir is the absolute data directory.
func (d *Daemon) DataDir() string { return d.dataDir }

// Setup is the admin's config as loaded.
func (d *Daemon) Setup() *Setup { return d.setup }

// Dispatching reports whether this process launches runs (it holds the
// data directory's lock); otherwise another process does.
func (d *Daemon) Dispatching() bool { return d.lock != nil }

// Repos are the watched repositories, in order.
func (d *Daemon) Repos() []*engine.Repo { return d.watched }

// Addr is the HTTP listener's address, nil without one.
func (d *Daemon) Addr() net.Addr {
	if d.http == nil {
		return nil
	}
	return d.http.ln.Addr()
}

// ServesWebhooks reports whether POST /webhook is served.
func (d *Daemon) ServesWebhooks() bool { return d.http != nil && d.http.hook != nil }
