package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git"
	"github.com/gitlaunch/gitlaunch/sync/redact"
)

// repos owns the git caches (one per repository URL) and knows each
// repository's config entry, for credentials and the secret name.
type repos struct {
	setup   *Setup
	dataDir string
	log     *slog.Logger

	mu     sync.Mutex
	caches map[string]*git.Repo   // by URL
	specs  map[string]schema.Repo // by URL
	// tokens were taken out of URLs named on the command line, by the URL
	// without them: kept in memory only, never in a run or a log.
	tokens map[string]string
	// hidden are the git tokens read so far (Options.Hidden of the engine).
	hidden []string
	// watched are the engine's repositories, by name, fixed by Open.
	watched map[string]*engine.Repo
}

func newRepos(s *Setup, dataDir string, log *slog.Logger) *repos {
	rs := &repos{setup: s, dataDir: dataDir, log: log, caches: map[string]*git.Repo{},
		specs: map[string]schema.Repo{}, watched: map[string]*engine.Repo{}, tokens: map[string]string{}}
	for _, r := range s.Config.Repos {
		rs.specs[r.URL] = r
	}
	return rs
}

// Spec turns a command-line REPO (a local path or a URL) into a config
// entry, reusing the config's entry for the same URL. A token in an
// http(s) URL is taken out of it and kept in memory: the URL without it is
// what runs, logs and the dashboard show.
func (rs *repos) Spec(arg string) (schema.Repo, error) {
	u := arg
	if schema.URLCredentials(arg) != "" {
		clean, token, err := splitToken(arg)
		if err != nil {
			return schema.Repo{}, err
		}
		u = clean
		rs.mu.Lock()
		rs.tokens[clean] = token
		rs.mu.Unlock()
	}
	if !strings.Contains(u, "://") && !looksLikeSCP(u) {
		abs, err := filepath.Abs(arg)
		if err != nil {
			return schema.Repo{}, err
		}
		if _, err := os.Stat(abs); err != nil {
			return schema.Repo{}, fmt.Errorf("repository %s: %w", arg, errors.Unwrap(err))
		}
		u = abs
	}
	if spec, ok := rs.specs[u]; ok {
		return spec, nil
	}
	return schema.Repo{URL: u, Name: schema.DefaultRepoName(u)}, nil
}

// splitToken takes the token out of an http(s) URL's user info (its
// password, or its user name when there is none: GitHub takes a token
// either way). Other credentials are refused, without repeating them.
func splitToken(raw string) (clean, token string, err error) {
	u, perr := url.Parse(raw)
	what := schema.URLCredentials(raw)
	switch {
	case perr != nil:
		return "", "", fmt.Errorf("repository %s: the URL holds %s and does not parse", git.RedactURL(raw), what)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", fmt.Errorf("repository %s: the URL holds %s; use an SSH key (repos[].sshKeyFile) instead", git.RedactURL(raw), what)
	case u.RawQuery != "" || u.ForceQuery || u.User == nil:
		return "", "", fmt.Errorf("repository %s: the URL holds %s; name the repository without it and put a token in repos[].tokenFile", git.RedactURL(raw), what)
	}
	token = u.User.Username()
	if p, ok := u.User.Password(); ok {
		token = p
	}
	u.User, u.Fragment, u.RawFragment = nil, "", ""
	return u.String(), token, nil
}

func looksLikeSCP(s string) bool {
	at, colon := strings.Index(s, "@"), strings.Index(s, ":")
	return at > 0 && colon > at
}

// cache opens (once) the bare cache of a repository.
func (rs *repos) cache(ctx context.Context, spec schema.Repo) (*git.Repo, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r, ok := rs.caches[spec.URL]; ok {
		return r, nil
	}
	auth := git.Auth{SSHKeyFile: spec.SSHKeyFile, Token: rs.tokens[spec.URL]}
	if spec.TokenFile != "" {
		tok, err := readSecretFile(rs.setup.Config.Resolve(spec.TokenFile))
		if err != nil {
			return nil, fmt.Errorf("repository %s: token file: %w", spec.Name, err)
		}
		auth.Token = tok
	}
	if auth.Token != "" {
		rs.hidden = append(rs.hidden, auth.Token)
	}
	name := spec.Name
	if name == "" {
		name = schema.DefaultRepoName(spec.URL)
	}
	r, err := git.Open(ctx, git.Options{
		URL: spec.URL, CacheDir: git.CacheDirFor(rs.dataDir, name, spec.URL), Auth: auth, Logger: rs.log,
	})
	if err != nil {
		return nil, err
	}
	rs.caches[spec.URL] = r
	return r, nil
}

// Watch makes the engine's view of a repository and remembers it.
func (rs *repos) Watch(ctx context.Context, spec schema.Repo) (*engine.Repo, error) {
	src, err := rs.cache(ctx, spec)
	if err != nil {
		return nil, err
	}
	r := &engine.Repo{Name: spec.Name, URL: spec.URL, DefaultBranch: spec.DefaultBranch, Source: src, GitHub: spec.GitHub}
	if r.Name == "" {
		r.Name = schema.DefaultRepoName(spec.URL)
	}
	if spec.SecretsFile != "" {
		if r.Secrets, err = readSecretsFile(rs.setup.Config.Resolve(spec.SecretsFile)); err != nil {
			return nil, fmt.Errorf("repository %s: secrets file: %w", r.Name, err)
		}
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if _, dup := rs.watched[r.Name]; dup {
		return nil, fmt.Errorf("repository %q is watched twice", r.Name)
	}
	rs.watched[r.Name] = r
	return r, nil
}

// Hidden are the git tokens of the repositories opened so far.
func (rs *repos) Hidden() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return slices.Clone(rs.hidden)
}

// Lookup finds a watched repository by name (the GitHub reporter's view:
// it needs each repository's secrets to hide them).
func (rs *repos) Lookup(name string) (*engine.Repo, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r, ok := rs.watched[name]
	return r, ok
}

// secretName is the Kubernetes Secret the config names for a repository.
func (rs *repos) secretName(repoURL string) string { return rs.specs[repoURL].SecretName }

// Checkout builds run workspaces for the local executor from the git
// caches, fetching when the commit is not there yet.
func (rs *repos) Checkout(ctx context.Context, repoURL, sha, dest string) error {
	spec, ok := rs.specs[repoURL]
	if !ok {
		spec = schema.Repo{URL: repoURL, Name: schema.DefaultRepoName(repoURL)}
	}
	r, err := rs.cache(ctx, spec)
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

func readSecretFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// readSecretsFile parses KEY=VALUE lines (# comments, blank lines). A
// value shorter than redact.MinLen is refused: it could not be hidden in
// what runs show (hiding it would mask every such string in every log).
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
		k = strings.TrimSpace(k)
		if size := len(strings.TrimSpace(v)); size > 0 && size < redact.MinLen {
			return nil, fmt.Errorf("%s:%d: the value of %s has %d bytes: secrets shorter than %d bytes cannot be hidden in logs; "+
				"use a longer value, or pass a value that is not secret in the job's env", p, n, k, size, redact.MinLen)
		}
		out[k] = v
	}
	return out, sc.Err()
}
