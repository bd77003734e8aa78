package git

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Default limits.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultFetchTimeout = 10 * time.Minute
)

// Auth holds the credentials for a remote. Both fields may be empty for a
// public repository.
type Auth struct {
	// Token is sent over HTTP(S) as basic auth with the user
	// "x-access-token" (what GitHub App and personal tokens accept).
	Token string
	// SSHKeyFile is a private key file for ssh remotes (unencrypted; use a
	// deploy key).
	SSHKeyFile string
	// SSHKnownHosts is a known_hosts file to check the server's key
	// against; empty means $SSH_KNOWN_HOSTS or ~/.ssh/known_hosts.
	SSHKnownHosts string
}

// Options configure one watched repository.
type Options struct {
	// URL of the remote: http(s)://, ssh://, scp-like user@host:path,
	// file:// or a local path.
	URL string
	// CacheDir holds the bare cache; created when missing. Use one per
	// repository, e.g. from CacheDirFor.
	CacheDir string
	Auth     Auth
	// Timeout bounds each ref advertisement (default 30s).
	Timeout time.Duration
	// FetchTimeout bounds each fetch of objects (default 10m): a first
	// fetch of a big repository takes longer than a ref listing.
	FetchTimeout time.Duration
	// Shallow fetches new refs with depth 1 (see the package comment).
	Shallow bool
	// Logger receives debug and info records; nil means slog.Default().
	Logger *slog.Logger
}

func (o *Options) withDefaults() {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// CacheDirFor returns <dataDir>/git/<name>-<hash>, where the hash is taken
// from the redacted URL, so that two repositories never share a cache and
// rotating a token embedded in the URL does not move it.
func CacheDirFor(dataDir, name, url string) string {
	sum := sha256.Sum256([]byte(RedactURL(url)))
	name = strings.Trim(unsafeName.ReplaceAllString(name, "_"), "._")
	if name == "" {
		name = "repo"
	}
	return filepath.Join(dataDir, "git", name+"-"+hex.EncodeToString(sum[:6]))
}
