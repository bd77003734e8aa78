package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	corev1 "k8s.io/api/core/v1"

	gh "github.com/google/go-github/v60/github"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/console"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git"
	"github.com/gitlaunch/gitlaunch/sync/local"
	"github.com/gitlaunch/gitlaunch/sync/store"
)

// app is the wiring shared by the commands that touch runs: the admin's
// config, the data directory and its store, git caches and the executor.
type app struct {
	cfg     *schema.Config
	cfgPath string
	base    *corev1.Pod
	dataDir string
	store   *store.Store
	log     *slog.Logger

	mu    sync.Mutex
	repos map[string]*git.Repo // by URL
	specs map[string]schema.Repo  // by URL, for credentials
	lock  *os.File
	// webhook handles POST /webhook when GitHub is configured.
	webhook  http.Handler
	ghClient *gh.Client
}

// dataDirDefault is where runs, logs and git caches live without a config.
const dataDirDefault = ".gitlaunch"

func openApp(ctx context.Context, cfgPath, dataDir string) (*app, error) {
	cfg, base, err := loadClusterConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	if dataDir == "" {
		dataDir = os.Getenv("GITLAUNCH_DATA")
	}
	if dataDir == "" {
		dataDir = cfg.Sync.DataDir
		dataDir = cfg.Resolve(dataDir)
	}
	if dataDir == "" {
		dataDir = dataDirDefault
	}
	if dataDir, err = filepath.Abs(dataDir); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, filepath.Join(dataDir, "gitlaunch.db"))
	if err != nil {
		return nil, fmt.Errorf("open the run store in %s: %w", dataDir, err)
	}
	a := &app{cfg: cfg, cfgPath: cfgPath, base: base, dataDir: dataDir, store: st, log: slog.Default(),
		repos: map[string]*git.Repo{}, specs: map[string]schema.Repo{}}
	for _, r := range cfg.Repos {
		a.specs[r.URL] = r
	}
	return a, nil
}

func (a *app) Close() error {
	if a.lock != nil {
		_ = syscall.Flock(int(a.lock.Fd()), syscall.LOCK_UN)
		a.lock.Close()
	}
	return a.store.Close()
}

// errLocked means another process dispatches runs for this data directory.
var errLocked = errors.New("another gitlaunch process dispatches runs for this data directory")

// tryLock takes the data directory's dispatch lock: only its holder
// launches runs, so two processes never launch the same queued run.
func (a *app) tryLock() error {
	f, err := os.OpenFile(filepath.Join(a.dataDir, "dispatch.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return errLocked
		}
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	a.lock = f
	return nil
}

// repoSpec turns a command-line REPO (a local path or a URL) into a config
// entry, reusing the config's entry for the same URL.
func (a *app) repoSpec(arg string) (schema.Repo, error) {
	u := arg
	if !strings.Contains(arg, "://") && !looksLikeSCP(arg) {
		abs, err := filepath.Abs(arg)
		if err != nil {
			return schema.Repo{}, err
		}
		if _, err := os.Stat(abs); err != nil {
			return schema.Repo{}, fmt.Errorf("repository %s: %w", arg, errors.Unwrap(err))
		}
		u = abs
	}
	if spec, ok := a.specs[u]; ok {
		return spec, nil
	}
	return schema.Repo{URL: u, Name: schema.DefaultRepoName(u)}, nil
}

func looksLikeSCP(s string) bool {
	at, colon := strings.Index(s, "@"), strings.Index(s, ":")
	return at > 0 && colon > at
}

// gitRepo opens (once) the bare cache of a repository.
func (a *app) gitRepo(ctx context.Context, spec schema.Repo) (*git.Repo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r, ok := a.repos[spec.URL]; ok {
		return r, nil
	}
	auth := git.Auth{SSHKeyFile: spec.SSHKeyFile}
	if spec.TokenFile != "" {
		tok, err := readSecretFile(a.resolve(spec.TokenFile))
		if err != nil {
			return nil, fmt.Errorf("repository %s: token file: %w", spec.Name, err)
		}
		auth.Token = tok
	}
	name := spec.Name
	if name == "" {
		name = schema.DefaultRepoName(spec.URL)
	}
	r, err := git.Open(ctx, git.Options{
		URL: spec.URL, CacheDir: git.CacheDirFor(a.dataDir, name, spec.URL), Auth: auth, Logger: a.log,
	})
	if err != nil {
		return nil, err
	}
	a.repos[spec.URL] = r
	return r, nil
}

// resolve makes a config-relative path absolute.
func (a *app) resolve(p string) string { return a.cfg.Resolve(p) }

func readSecretFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// readSecretsFile parses KEY=VALUE lines (# comments, blank lines).
func readSecretsFile(p string) (map[string]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want KEY=VALUE", p, n)
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, sc.Err()
}

// engineRepo makes the engine's view of a repository.
func (a *app) engineRepo(ctx context.Context, spec schema.Repo) (*engine.Repo, error) {
	src, err := a.gitRepo(ctx, spec)
	if err != nil {
		return nil, err
	}
	r := &engine.Repo{Name: spec.Name, URL: spec.URL, DefaultBranch: spec.DefaultBranch, Source: src, GitHub: spec.GitHub}
	if r.Name == "" {
		r.Name = schema.DefaultRepoName(spec.URL)
	}
	if spec.SecretsFile != "" {
		if r.Secrets, err = readSecretsFile(a.resolve(spec.SecretsFile)); err != nil {
			return nil, fmt.Errorf("repository %s: secrets file: %w", r.Name, err)
		}
	}
	return r, nil
}

// checkout builds run workspaces for the local executor from the git
// caches, fetching when the commit is not there yet.
type checkout struct{ a *app }

func (c checkout) Checkout(ctx context.Context, repoURL, sha, dest string) error {
	spec, ok := c.a.specs[repoURL]
	if !ok {
		spec = schema.Repo{URL: repoURL, Name: schema.DefaultRepoName(repoURL)}
	}
	r, err := c.a.gitRepo(ctx, spec)
	if err != nil {
		return err
	}
	if err := r.Checkout(ctx, sha, dest); err == nil {
		return nil
	}
	if _, err := r.Poll(ctx); err != nil {
		return err
	}
	return r.Checkout(ctx, sha, dest)
}

func (a *app) executor(ctx context.Context) (engine.Executor, error) {
	switch a.cfg.Executor {
	case "kube":
		return a.kubeExecutor(ctx)
	case "", "local":
		ds := map[string]string{}
		for name, d := range a.cfg.Datasets {
			if d.LocalPath != "" {
				ds[name] = d.LocalPath
			}
		}
		return local.New(local.Options{DataDir: a.dataDir, Checkout: checkout{a}, Datasets: ds, Logger: a.log})
	default:
		return nil, fmt.Errorf("executor %q is not available in this build", a.cfg.Executor)
	}
}

func (a *app) engine(exec engine.Executor, reporters []engine.Reporter, repos []*engine.Repo) (*engine.Engine, error) {
	return a.engineWith(engine.Options{Executor: exec, Reporters: reporters, Repos: repos})
}

// engineWith fills in what every engine of this app shares.
func (a *app) engineWith(o engine.Options) (*engine.Engine, error) {
	o.Config, o.Store, o.Logger = a.cfg, a.store, a.log
	o.Render = func(job *schema.Job, r *engine.Run) (*corev1.Pod, error) {
		return renderPod(job, r, a.cfg, a.base, a.specs[r.RepoURL].SecretName)
	}
	o.ValidateWith = validationConfig(a.cfg, a.cfgPath)
	return engine.New(o)
}

func consoleReporter(w io.Writer) engine.Reporter { return console.New(w) }
