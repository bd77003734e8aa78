package git

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/file"
	gitproto "github.com/go-git/go-git/v5/plumbing/transport/git"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

// httpTransport is shared by every Repo so that polls of many repositories
// on one host (github.com) reuse a pool of kept-alive connections instead
// of paying a TLS handshake per poll. net/http's default keeps only two
// idle connections per host.
var httpTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second // longer than a 30s poll interval
	return t
}()

// httpClient is a git client over the shared connections whose ref
// advertisements pass through f.
func httpClient(f *advFilter) transport.Transport {
	return githttp.NewClient(&http.Client{Transport: f})
}

// endpointFor parses the remote URL; a relative local path is made
// absolute so the cache does not depend on the working directory.
func endpointFor(rawURL string) (*transport.Endpoint, error) {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return nil, err
	}
	if ep.Protocol == "file" && !filepath.IsAbs(ep.Path) {
		abs, err := filepath.Abs(ep.Path)
		if err != nil {
			return nil, err
		}
		ep.Path = abs
	}
	return ep, nil
}

// transportFor picks the client for ep's protocol and builds its auth.
// Over http(s) ref advertisements pass through f (see advFilter).
func transportFor(ep *transport.Endpoint, a Auth, timeout time.Duration, f *advFilter) (transport.Transport, transport.AuthMethod, error) {
	switch ep.Protocol {
	case "http", "https":
		if a.SSHKeyFile != "" {
			return nil, nil, fmt.Errorf("an SSH key needs an ssh URL, not %s", ep.Protocol)
		}
		if a.Token != "" {
			return httpClient(f), &githttp.BasicAuth{Username: "x-access-token", Password: a.Token}, nil
		}
		return httpClient(f), nil, nil
	case "ssh":
		if a.Token != "" {
			return nil, nil, fmt.Errorf("a token needs an http(s) URL, not ssh")
		}
		// Timeout bounds the TCP connect; the handshake is bounded by
		// openSession.
		client := gitssh.NewClient(&ssh.ClientConfig{Timeout: timeout})
		if a.SSHKeyFile == "" {
			return client, nil, nil // ssh-agent, go-git's default
		}
		user := ep.User
		if user == "" {
			user = "git"
		}
		keys, err := gitssh.NewPublicKeysFromFile(user, a.SSHKeyFile, "")
		if err != nil {
			// The key file's path is not secret, its content is never shown.
			return nil, nil, fmt.Errorf("read ssh key %s: %w", a.SSHKeyFile, err)
		}
		if a.SSHKnownHosts != "" {
			cb, err := gitssh.NewKnownHostsCallback(a.SSHKnownHosts)
			if err != nil {
				return nil, nil, fmt.Errorf("read known hosts %s: %w", a.SSHKnownHosts, err)
			}
			keys.HostKeyCallback = cb
		}
		return client, keys, nil
	case "file":
		if a.Token != "" || a.SSHKeyFile != "" {
			return nil, nil, fmt.Errorf("credentials given for a local repository")
		}
		return file.DefaultClient, nil, nil
	case "git":
		return gitproto.DefaultClient, nil, nil
	}
	return nil, nil, fmt.Errorf("unsupported URL scheme %q", ep.Protocol)
}

// openSession starts an upload-pack session. Over HTTP that is free; over
// ssh and for local repositories it connects or starts a process, which
// go-git does not bound by a context, so it runs in a goroutine that
// closes the session itself if the caller gave up waiting.
func (r *Repo) openSession(ctx context.Context) (transport.UploadPackSession, error) {
	ep := *r.ep // a redirect may rewrite the endpoint; keep ours pristine
	if ep.Protocol == "http" || ep.Protocol == "https" {
		return r.tr.NewUploadPackSession(&ep, r.auth)
	}
	type result struct {
		s   transport.UploadPackSession
		err error
	}
	ch := make(chan result) // unbuffered: a send succeeds only if we still wait
	go func() {
		s, err := r.tr.NewUploadPackSession(&ep, r.auth)
		select {
		case ch <- result{s, err}:
		case <-ctx.Done(): // the caller gave up: nobody else will close it
			if s != nil {
				_ = s.Close()
			}
		}
	}()
	select {
	case res := <-ch:
		return res.s, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
