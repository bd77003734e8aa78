package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	ghsync "github.com/gitlaunch/gitlaunch/sync/github"
)

// githubWiring is what the sync command adds when GitHub is configured: a
// reporter, the pull request trust check and the webhook handler.
type githubWiring struct {
	reporter *ghsync.Reporter
	trust    *ghsync.Trust
	secret   string
	secrets  []string
}

// setupGitHub returns nil when no repository is reported to GitHub. The
// reporter and the webhook handler look the engine up lazily, since the
// engine is built with them.
func setupGitHub(a *app, repos []*engine.Repo, eng func() *engine.Engine) (*githubWiring, error) {
	wanted := false
	for _, r := range repos {
		wanted = wanted || r.GitHub != ""
	}
	if !wanted {
		return nil, nil
	}
	token, err := ghsync.LoadToken(a.cfg, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("github token: %w", err)
	}
	if token == "" {
		return nil, fmt.Errorf("repositories report to GitHub, but no token is set: export GITLAUNCH_GITHUB_TOKEN or set github.tokenFile")
	}
	secret, err := ghsync.LoadWebhookSecret(a.cfg, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("webhook secret: %w", err)
	}
	client, err := ghsync.NewClient(a.cfg.GitHub.BaseURL, token, nil)
	if err != nil {
		return nil, err
	}
	trust, err := ghsync.NewTrust(ghsync.TrustOptions{Client: client, Logger: a.log})
	if err != nil {
		return nil, err
	}
	secrets := []string{token}
	if secret != "" {
		secrets = append(secrets, secret)
	}
	var tmpl *render.CommentTemplate
	if p := a.resolve(a.cfg.GitHub.CommentTemplate); p != "" {
		text, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("comment template: %w", err)
		}
		if tmpl, err = render.ParseCommentTemplate(string(text)); err != nil {
			return nil, fmt.Errorf("comment template %s: %w", p, err)
		}
	}
	rep, err := ghsync.NewReporter(ghsync.ReporterOptions{
		Client: client, Store: a.store, BaseURL: a.cfg.Sync.BaseURL, Secrets: secrets, Logger: a.log, Template: tmpl,
		Repos: func(name string) (*engine.Repo, bool) { return eng().Repo(name) },
	})
	if err != nil {
		return nil, err
	}
	a.ghClient = client
	return &githubWiring{reporter: rep, trust: trust, secret: secret, secrets: secrets}, nil
}

// webhook starts the handler's worker (owned by ctx) and returns the
// handler, or nil without a webhook secret.
func (g *githubWiring) webhook(ctx context.Context, a *app, eng *engine.Engine) (*ghsync.WebhookHandler, error) {
	if g == nil || g.secret == "" {
		return nil, nil
	}
	h, err := ghsync.NewWebhookHandler(ghsync.WebhookOptions{
		Secret: []byte(g.secret), Engine: eng, Trust: g.trust, Client: a.ghClient, Secrets: g.secrets, Logger: a.log,
	})
	if err != nil {
		return nil, err
	}
	go func() {
		if err := h.Run(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("webhook worker stopped", "err", err)
		}
	}()
	return h, nil
}

// webhookPollInterval is the safety-net poll interval when webhooks bring
// changes: polling only catches what a lost delivery missed.
const webhookPollInterval = 5 * time.Minute
