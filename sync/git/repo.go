package git

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

var _ engine.Source = (*Repo)(nil)

// objectCache is shared by every Repo: objects are named by their content,
// so one repository's cached object is right for any other, and one bound
// caps the memory all caches together can hold.
var objectCache = cache.NewObjectLRU(32 * cache.MiByte)

// largeObject is the size above which a blob is streamed from disk instead
// of being read into memory.
const largeObject = 1 << 20

// Repo is one watched repository and its bare cache.
type Repo struct {
	opts     Options
	log      *slog.Logger
	redacted string
	secrets  secrets
	ep       *transport.Endpoint
	tr       transport.Transport
	auth     transport.AuthMethod
	// adv drops the ref lines go-git cannot decode from http(s) ref
	// advertisements; Poll turns them into warnings.
	adv *advFilter

	// pollMu serializes polls; it guards known and head.
	pollMu sync.Mutex
	known  map[plumbing.ReferenceName]plumbing.Hash // tracked refs in the cache
	head   string

	// mu guards st: go-git's storage is not safe for concurrent use.
	mu sync.Mutex
	st *filesystem.Storage
}

// Open prepares the repository: it parses the URL and credentials and
// opens (or creates) the bare cache. It does not contact the remote.
func Open(ctx context.Context, opts Options) (*Repo, error) {
	if opts.CacheDir == "" {
		return nil, errors.New("git: no cache directory")
	}
	r, err := newRemote(opts)
	if err != nil {
		return nil, err
	}
	if r.st, err = openCache(opts.CacheDir, r.redacted); err != nil {
		return nil, fmt.Errorf("git %s: %w", r.redacted, err)
	}
	return r, nil
}

// newRemote parses the URL and credentials; the caller sets r.st.
func newRemote(opts Options) (*Repo, error) {
	opts.withDefaults()
	if opts.URL == "" {
		return nil, errors.New("git: no repository URL")
	}
	r := &Repo{
		opts:     opts,
		redacted: RedactURL(opts.URL),
		secrets:  secretsOf(opts.URL, opts.Auth),
	}
	r.log = opts.Logger.With("repo", r.redacted)
	ep, err := endpointFor(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("git: parse URL %s: %s", r.redacted, r.secrets.scrub(err.Error()))
	}
	r.ep = ep
	r.adv = &advFilter{next: httpTransport}
	if r.tr, r.auth, err = transportFor(ep, opts.Auth, opts.Timeout, r.adv); err != nil {
		return nil, fmt.Errorf("git %s: %w", r.redacted, err)
	}
	return r, nil
}

// URL is the remote's URL without credentials.
func (r *Repo) URL() string { return r.redacted }

// Close releases the cache's files.
func (r *Repo) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st.Close()
}

// openCache opens the bare cache in dir, creating it when dir is missing or
// empty. The cache records the redacted URL it mirrors and refuses to
// serve another one.
func openCache(dir, url string) (*filesystem.Storage, error) {
	entries, err := os.ReadDir(dir)
	fresh := errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0)
	if err != nil && !fresh {
		return nil, fmt.Errorf("open cache %s: %w", dir, err)
	}
	if fresh {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create cache %s: %w", dir, diskFull(err))
		}
	} else if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		return nil, fmt.Errorf("cache %s is not empty and not a git repository", dir)
	}
	st := filesystem.NewStorageWithOptions(osfs.New(dir), objectCache, filesystem.Options{
		// Not ExclusiveAccess: in go-git v5.19 it makes HasEncodedObject
		// miss packed objects. Polls do not read the cache anyway.
		LargeObjectThreshold: largeObject,
	})
	if fresh {
		if _, err := gogit.Init(st, nil); err != nil {
			return nil, fmt.Errorf("create cache %s: %w", dir, diskFull(err))
		}
		cfg, err := st.Config()
		if err != nil {
			return nil, fmt.Errorf("read cache config: %w", err)
		}
		cfg.Remotes["origin"] = &config.RemoteConfig{
			Name:  "origin",
			URLs:  []string{url},
			Fetch: []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/pull/*/head:refs/pull/*/head"},
		}
		if err := st.SetConfig(cfg); err != nil {
			return nil, fmt.Errorf("write cache config: %w", diskFull(err))
		}
		return st, nil
	}
	cfg, err := st.Config()
	if err != nil {
		return nil, fmt.Errorf("read cache config in %s: %w", dir, err)
	}
	if o := cfg.Remotes["origin"]; o == nil || len(o.URLs) == 0 || o.URLs[0] != url {
		return nil, fmt.Errorf("cache %s belongs to another repository", dir)
	}
	return st, nil
}

// loadKnown reads the cache's tracked refs once; afterwards the in-memory
// copy is kept in step with every change Poll makes. Call with pollMu.
func (r *Repo) loadKnown() error {
	if r.known != nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	known := map[plumbing.ReferenceName]plumbing.Hash{}
	iter, err := r.st.IterReferences()
	if err != nil {
		return fmt.Errorf("git %s: read cache refs: %w", r.redacted, err)
	}
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() == plumbing.HashReference && tracked(ref.Name().String()) {
			known[ref.Name()] = ref.Hash()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("git %s: read cache refs: %w", r.redacted, err)
	}
	// A fresh cache's HEAD is go-git's default, not the remote's.
	if head, err := r.st.Reference(plumbing.HEAD); err == nil && head.Type() == plumbing.SymbolicReference && len(known) > 0 {
		r.head = engine.BranchOf(head.Target().String())
	}
	r.known = known
	return nil
}

// hasCommit reports whether the cache holds commit h. Call with mu.
func (r *Repo) hasCommit(h plumbing.Hash) bool {
	return r.st.HasEncodedObject(h) == nil
}
