package github

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/gitlaunch/gitlaunch/schema"
)

// Environment variables that hold credentials; they win over the config's
// files.
const (
	TokenEnv         = "GITLAUNCH_GITHUB_TOKEN"
	WebhookSecretEnv = "GITLAUNCH_WEBHOOK_SECRET"
)

// Client is the GitHub API client that the reporter, the trust checks and
// the webhook's replies share (go-github's, named here so that callers need
// not import both packages called github).
type Client = gh.Client

// NewClient returns an API client authenticated with token. An empty
// baseURL means api.github.com. Otherwise it is a GitHub Enterprise
// server (https://ghe.example.com, to which /api/v3/ is added) or a full
// API root that already names its API path (…/api/v3/, or Gitea's
// …/api/v1/), used as it is.
func NewClient(baseURL, token string, httpClient *http.Client) (*gh.Client, error) {
	c := gh.NewClient(httpClient)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	if baseURL == "" {
		return c, nil
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("github base URL %q: want http(s)://host[/path]", baseURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	if strings.Contains(u.Path, "/api/") {
		c.BaseURL, c.UploadURL = u, u
		return c, nil
	}
	return c.WithEnterpriseURLs(u.String(), u.String())
}

// LoadToken returns the API token: $GITLAUNCH_GITHUB_TOKEN, else the
// contents of the config's github.tokenFile (relative to the config's
// folder), else "" (GitHub reporting off).
func LoadToken(cfg *schema.Config, getenv func(string) string) (string, error) {
	return secretFrom(getenv(TokenEnv), cfg, cfg.GitHub.TokenFile, "github.tokenFile")
}

// LoadWebhookSecret returns the webhook secret: $GITLAUNCH_WEBHOOK_SECRET,
// else the contents of github.webhookSecretFile, else "" (webhooks off).
func LoadWebhookSecret(cfg *schema.Config, getenv func(string) string) (string, error) {
	return secretFrom(getenv(WebhookSecretEnv), cfg, cfg.GitHub.WebhookSecretFile, "github.webhookSecretFile")
}

func secretFrom(env string, cfg *schema.Config, file, field string) (string, error) {
	if v := strings.TrimSpace(env); v != "" {
		return v, nil
	}
	if file == "" {
		return "", nil
	}
	file = cfg.Resolve(file)
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s: %s is empty", field, file)
	}
	return v, nil
}

// splitFullName splits "owner/name".
func splitFullName(full string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(full, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", errors.New("github repository " + fmt.Sprintf("%q", full) + ": want owner/name")
	}
	return owner, name, nil
}
