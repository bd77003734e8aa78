package giteatest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Do sends one request to the Gitea REST API as the owner of token and
// decodes a JSON answer into out (when out is not nil). path is relative to
// APIURL, e.g. "repos/gitlaunch/demo/hooks". It fails t unless the status is
// one of want (default: any 2xx), and returns the status.
func (s *Server) Do(t testing.TB, token, method, path string, in, out any, want ...int) int {
	t.Helper()
	status, body, err := s.do(context.Background(), token, "", method, path, in, out)
	if err != nil {
		t.Fatalf("giteatest: %s %s: %v", method, path, err)
	}
	ok := status/100 == 2
	if len(want) > 0 {
		ok = slices.Contains(want, status)
	}
	if !ok {
		t.Fatalf("giteatest: %s %s: status %d: %s", method, path, status, body)
	}
	return status
}

// do is Do without a testing.TB; basic, when not empty, is "user:password".
func (s *Server) do(ctx context.Context, token, basic, method, path string, in, out any) (int, []byte, error) {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return 0, nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.APIURL+path, body)
	if err != nil {
		return 0, nil, fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case token != "":
		req.Header.Set("Authorization", "token "+token)
	case basic != "":
		user, pass, _ := strings.Cut(basic, ":")
		req.SetBasicAuth(user, pass)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read answer: %w", err)
	}
	if out != nil && resp.StatusCode/100 == 2 && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, data, fmt.Errorf("decode answer: %w", err)
		}
	}
	return resp.StatusCode, data, nil
}

// FullName returns "owner/name" for repo, taking a bare name as the admin's.
func (s *Server) FullName(repo string) string {
	if strings.Contains(repo, "/") {
		return repo
	}
	return s.Admin + "/" + repo
}

// repoPath is "repos/owner/name" for the API.
func (s *Server) repoPath(repo string) string {
	owner, name, _ := strings.Cut(s.FullName(repo), "/")
	return "repos/" + url.PathEscape(owner) + "/" + url.PathEscape(name)
}

// CloneURL is the plain HTTP clone URL of repo ("name" or "owner/name").
func (s *Server) CloneURL(repo string) string {
	return s.URL + s.FullName(repo) + ".git"
}

// AuthURL is the clone URL of repo with user:token in it, for git push and
// fetch over HTTP basic auth.
func (s *Server) AuthURL(repo, user, token string) string {
	u, _ := url.Parse(s.CloneURL(repo)) // built from a URL we made
	u.User = url.UserPassword(user, token)
	return u.String()
}

// CreateRepo creates a public repository of the admin, initialised with a
// README commit on its default branch main, and returns its clone URL.
func (s *Server) CreateRepo(t testing.TB, name string) string {
	t.Helper()
	var repo struct {
		CloneURL string `json:"clone_url"`
	}
	s.Do(t, s.Token, http.MethodPost, "user/repos", map[string]any{
		"name":           name,
		"auto_init":      true,
		"readme":         "Default",
		"default_branch": "main",
		"private":        false,
	}, &repo, http.StatusCreated)
	return repo.CloneURL
}

// CreateUser creates an ordinary user (no admin, no access to the admin's
// repositories: a fork author) and returns an access token with every scope.
func (s *Server) CreateUser(t testing.TB, name string) string {
	t.Helper()
	password := randomHex(12)
	s.Do(t, s.Token, http.MethodPost, "admin/users", map[string]any{
		"username":             name,
		"email":                name + "@example.com",
		"password":             password,
		"must_change_password": false,
	}, nil, http.StatusCreated)

	// Tokens are made with the user's own password, as Gitea requires.
	var tok struct {
		SHA1 string `json:"sha1"`
	}
	status, body, err := s.do(context.Background(), "", name+":"+password, http.MethodPost,
		"users/"+url.PathEscape(name)+"/tokens", map[string]any{"name": "giteatest", "scopes": []string{"all"}}, &tok)
	if err != nil || status != http.StatusCreated || tok.SHA1 == "" {
		t.Fatalf("giteatest: token for %s: status %d, %v: %s", name, status, err, body)
	}
	return tok.SHA1
}

// AddCollaborator gives user permission ("read", "write" or "admin") on repo.
func (s *Server) AddCollaborator(t testing.TB, repo, user, permission string) {
	t.Helper()
	s.Do(t, s.Token, http.MethodPut, s.repoPath(repo)+"/collaborators/"+url.PathEscape(user),
		map[string]string{"permission": permission}, nil, http.StatusNoContent)
}

// CommitFile commits content to path on branch of repo through the API (as
// the admin) and returns the new commit's SHA. A branch that does not exist
// yet is created from from (default "main").
func (s *Server) CommitFile(t testing.TB, repo, branch, path, content string, from ...string) string {
	t.Helper()
	opts := map[string]any{
		"message": "giteatest: write " + path,
		"files": []map[string]any{{
			"operation": "upload", // create or update
			"path":      path,
			"content":   base64.StdEncoding.EncodeToString([]byte(content)),
		}},
	}
	if s.branchExists(t, repo, branch) {
		opts["branch"] = branch
	} else {
		base := "main"
		if len(from) > 0 {
			base = from[0]
		}
		opts["branch"], opts["new_branch"] = base, branch
	}
	var resp struct {
		Commit struct {
			SHA string `json:"sha"`
		} `json:"commit"`
	}
	s.Do(t, s.Token, http.MethodPost, s.repoPath(repo)+"/contents", opts, &resp, http.StatusCreated)
	if resp.Commit.SHA == "" {
		t.Fatalf("giteatest: commit to %s@%s returned no SHA", repo, branch)
	}
	return resp.Commit.SHA
}

func (s *Server) branchExists(t testing.TB, repo, branch string) bool {
	t.Helper()
	return s.Do(t, s.Token, http.MethodGet, s.repoPath(repo)+"/branches/"+url.PathEscape(branch),
		nil, nil, http.StatusOK, http.StatusNotFound) == http.StatusOK
}

// CreatePullRequest opens a pull request in repo from head (a branch of repo)
// into base as the admin and returns its number.
func (s *Server) CreatePullRequest(t testing.TB, repo, head, base, title string) int {
	t.Helper()
	return s.CreatePullRequestAs(t, s.Token, repo, head, base, title)
}

// CreatePullRequestAs opens a pull request as the owner of token. head is a
// branch of repo, or "user:branch" for a branch of user's fork (see Fork).
func (s *Server) CreatePullRequestAs(t testing.TB, token, repo, head, base, title string) int {
	t.Helper()
	var pr struct {
		Number int `json:"number"`
	}
	s.Do(t, token, http.MethodPost, s.repoPath(repo)+"/pulls",
		map[string]string{"head": head, "base": base, "title": title}, &pr, http.StatusCreated)
	return pr.Number
}

// Fork forks repo into the account of the owner of token (user) and returns
// the fork's full name, "user/name".
func (s *Server) Fork(t testing.TB, repo, token string) string {
	t.Helper()
	var fork struct {
		FullName string `json:"full_name"`
	}
	s.Do(t, token, http.MethodPost, s.repoPath(repo)+"/forks", map[string]any{}, &fork, http.StatusAccepted)
	return fork.FullName
}

// HookEvents are the events CreateHook subscribes to. In Gitea "pull_request"
// also selects its sub-events (sync, comments, reviews, labels …); comments
// on pull requests are delivered with X-GitHub-Event: issue_comment.
var HookEvents = []string{"push", "pull_request", "issue_comment", "create", "delete"}

// CreateHook adds a webhook to repo that POSTs JSON to target, signed with
// secret, for HookEvents, and returns its ID. The type is "gitea": Gitea has
// no "github" type, and every type's requests carry X-GitHub-Event,
// X-GitHub-Delivery and X-Hub-Signature-256 (plus the X-Gitea-* ones).
func (s *Server) CreateHook(t testing.TB, repo, target, secret string) int64 {
	t.Helper()
	var hook struct {
		ID int64 `json:"id"`
	}
	s.Do(t, s.Token, http.MethodPost, s.repoPath(repo)+"/hooks", map[string]any{
		"type":   "gitea",
		"active": true,
		"events": HookEvents,
		"config": map[string]string{
			"url":          target,
			"content_type": "json",
			"secret":       secret,
		},
	}, &hook, http.StatusCreated)
	return hook.ID
}
