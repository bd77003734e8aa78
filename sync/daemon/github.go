package daemon

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/github"
)

// gitHub is what a syncer adds when a repository reports to GitHub: the
// API client, the pull request trust check, the reporter, and the webhook
// secret (empty: no webhooks).
type gitHub struct {
	client   *github.Client
	trust    *github.Trust
	reporter *github.Reporter
	secret   string
	// hidden are values never shown in anything posted: the token and the
	// webhook secret.
	hidden []string
}

// errNoToken says how to give the syncer a GitHub token.
var errNoToken = errors.New("repositories report to GitHub, but no token is set: export GITLAUNCH_GITHUB_TOKEN or set github.tokenFile")

// openGitHub returns nil when no watched repository reports to GitHub.
func (d *Daemon) openGitHub(watched []*engine.Repo) (*gitHub, error) {
	wanted := false
	for _, r := range watched {
		wanted = wanted || r.GitHub != ""
	}
	if !wanted || d.opts.NoGitHub {
		return nil, nil
	}
	cfg := d.setup.Config
	token, err := github.LoadToken(cfg, d.opts.Getenv)
	if err != nil {
		return nil, fmt.Errorf("github token: %w", err)
	}
	if token == "" {
		return nil, errNoToken
	}
	secret, err := github.LoadWebhookSecret(cfg, d.opts.Getenv)
	if err != nil {
		return nil, fmt.Errorf("webhook secret: %w", err)
	}
	client, err := github.NewClient(cfg.GitHub.BaseURL, token, nil)
	if err != nil {
		return nil, err
	}
	trust, err := github.NewTrust(github.TrustOptions{Client: client, Logger: d.log})
	if err != nil {
		return nil, err
	}
	g := &gitHub{client: client, trust: trust, secret: secret, hidden: []string{token}}
	if secret != "" {
		g.hidden = append(g.hidden, secret)
	}
	var tmpl *render.CommentTemplate
	if p := cfg.Resolve(cfg.GitHub.CommentTemplate); p != "" {
		text, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("comment template: %w", err)
		}
		if tmpl, err = render.ParseCommentTemplate(string(text)); err != nil {
			return nil, fmt.Errorf("comment template %s: %w", p, err)
		}
	}
	g.reporter, err = github.NewReporter(github.ReporterOptions{
		Client: client, Store: d.store, BaseURL: cfg.Sync.BaseURL, Secrets: slices.Concat(g.hidden, d.repos.Hidden()),
		Logger: d.log, Template: tmpl,
		Repos: d.repos.Lookup,
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// webhook returns the handler for POST /webhook, or nil without a secret.
// Its worker is started by Run.
func (g *gitHub) webhook(d *Daemon) (*github.WebhookHandler, error) {
	if g == nil || g.secret == "" {
		return nil, nil
	}
	return github.NewWebhookHandler(github.WebhookOptions{
		Secret: []byte(g.secret), Engine: d.eng, Trust: g.trust, Client: g.client, Secrets: g.hidden, Logger: d.log,
	})
}

// hidden are the values no run may show, besides its repository's
// secrets: the GitHub token and webhook secret (also when GitHub is left
// out of this process: a job could still come by them) and the git tokens.
func (d *Daemon) hidden() []string {
	var out []string
	if d.gh != nil {
		out = append(out, d.gh.hidden...)
	} else {
		cfg := d.setup.Config
		for _, load := range []func(*schema.Config, func(string) string) (string, error){github.LoadToken, github.LoadWebhookSecret} {
			if v, err := load(cfg, d.opts.Getenv); err == nil && v != "" {
				out = append(out, v)
			}
		}
	}
	return append(out, d.repos.Hidden()...)
}
