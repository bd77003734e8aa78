package githubtest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/gitlaunch/gitlaunch/sync/github/githubtest"
)

const sha = "4f2a9c1de0b7a6f5e4d3c2b1a0f9e8d7c6b5a493"

func client(t *testing.T, s *githubtest.Server, token string) *gh.Client {
	t.Helper()
	c, err := gh.NewClient(nil).WithAuthToken(token).WithEnterpriseURLs(s.APIURL(), s.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStatusesReplacedPerContext(t *testing.T) {
	s := githubtest.New(t)
	s.AddRepo("octo/models")
	c := client(t, s, "test-token")
	ctx := context.Background()
	for _, st := range []struct{ ctx, state string }{{"gitlaunch/a", "pending"}, {"gitlaunch/b", "pending"}, {"gitlaunch/a", "success"}} {
		if _, _, err := c.Repositories.CreateStatus(ctx, "octo", "models", sha, &gh.RepoStatus{State: gh.String(st.state), Context: gh.String(st.ctx)}); err != nil {
			t.Fatal(err)
		}
	}
	comb, _, err := c.Repositories.GetCombinedStatus(ctx, "octo", "models", sha, nil)
	if err != nil {
		t.Fatal(err)
	}
	if comb.GetState() != "pending" || comb.GetTotalCount() != 2 {
		t.Errorf("combined = %s with %d", comb.GetState(), comb.GetTotalCount())
	}
	if got := s.Combined("octo/models", sha)["gitlaunch/a"].State; got != "success" {
		t.Errorf("a = %s", got)
	}
	if len(s.Statuses("octo/models", sha)) != 3 {
		t.Error("history lost")
	}
	// GitHub's validation.
	_, _, err = c.Repositories.CreateStatus(ctx, "octo", "models", sha, &gh.RepoStatus{State: gh.String("done")})
	if !isStatus(err, 422) {
		t.Errorf("bad state: %v", err)
	}
	_, _, err = c.Repositories.CreateStatus(ctx, "octo", "models", sha, &gh.RepoStatus{State: gh.String("success"), Description: gh.String(strings.Repeat("x", 141))})
	if !isStatus(err, 422) {
		t.Errorf("long description: %v", err)
	}
	_, _, err = c.Repositories.CreateStatus(ctx, "octo", "gone", sha, &gh.RepoStatus{State: gh.String("success")})
	if !isStatus(err, 404) {
		t.Errorf("missing repo: %v", err)
	}
}

func isStatus(err error, code int) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response.StatusCode == code
}

func TestCommentsPaginateAndEdit(t *testing.T) {
	s := githubtest.New(t)
	s.AddRepo("octo/models")
	s.SetPR("octo/models", githubtest.PullRequest{Number: 7, User: "alice", HeadRepo: "octo/models", HeadSHA: sha, BaseRef: "main"})
	for i := range 75 {
		s.AddComment("octo/models", 7, "alice", strings.Repeat("x", i+1))
	}
	c := client(t, s, "test-token")
	ctx := context.Background()
	opt := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 30}}
	var all []*gh.IssueComment
	pages := 0
	for {
		cs, resp, err := c.Issues.ListComments(ctx, "octo", "models", 7, opt)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, cs...)
		if resp.NextPage == 0 {
			if resp.LastPage != 0 {
				t.Errorf("last page has a last link")
			}
			break
		}
		opt.Page = resp.NextPage
	}
	if len(all) != 75 || pages != 3 {
		t.Fatalf("%d comments in %d pages", len(all), pages)
	}
	mine, _, err := c.Issues.CreateComment(ctx, "octo", "models", 7, &gh.IssueComment{Body: gh.String("hello")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Issues.EditComment(ctx, "octo", "models", mine.GetID(), &gh.IssueComment{Body: gh.String("edited")}); err != nil {
		t.Fatal(err)
	}
	got := s.Comments("octo/models", 7)
	if last := got[len(got)-1]; last.Body != "edited" || last.User != "gitlaunch-bot" {
		t.Errorf("last comment = %+v", last)
	}
	// Someone without write access cannot edit others' comments.
	s.AddToken("eve-token", "eve")
	if _, _, err := client(t, s, "eve-token").Issues.EditComment(ctx, "octo", "models", mine.GetID(), &gh.IssueComment{Body: gh.String("x")}); !isStatus(err, 403) {
		t.Errorf("eve edited: %v", err)
	}
	if _, _, err := c.Issues.CreateComment(ctx, "octo", "models", 7, &gh.IssueComment{Body: gh.String(strings.Repeat("é", 65537))}); !isStatus(err, 422) {
		t.Errorf("long body: %v", err)
	}
	// Reactions are unique per user and content.
	for want := range []int{201, 200} {
		_, resp, err := c.Reactions.CreateIssueCommentReaction(ctx, "octo", "models", mine.GetID(), "rocket")
		if err != nil || resp.StatusCode != []int{201, 200}[want] {
			t.Errorf("reaction %d: %v %v", want, resp.StatusCode, err)
		}
	}
}

func TestAuthRateLimitsAndInjectedFailures(t *testing.T) {
	s := githubtest.New(t)
	s.AddRepo("octo/models")
	s.SetPermission("octo/models", "alice", "maintain")
	ctx := context.Background()
	if _, _, err := client(t, s, "wrong").Users.Get(ctx, ""); !isStatus(err, 401) {
		t.Errorf("bad token: %v", err)
	}
	c := client(t, s, "test-token")
	p, resp, err := c.Repositories.GetPermissionLevel(ctx, "octo", "models", "alice")
	if err != nil || p.GetPermission() != "write" {
		t.Fatalf("permission = %+v, %v", p, err)
	}
	if resp.Rate.Limit != 5000 || resp.Rate.Remaining != 4999 {
		t.Errorf("rate = %+v", resp.Rate)
	}

	s.Fail(githubtest.ServerError(502))
	if _, _, err := c.Users.Get(ctx, ""); !isStatus(err, 502) {
		t.Errorf("injected 502: %v", err)
	}
	s.Fail(githubtest.TooManyRequests(3 * time.Second))
	if _, _, err := c.Users.Get(ctx, ""); !isStatus(err, 429) {
		t.Errorf("injected 429: %v", err)
	}
	s.Fail(githubtest.SecondaryRateLimit(time.Second))
	var abuse *gh.AbuseRateLimitError
	if _, _, err := c.Users.Get(ctx, ""); !errors.As(err, &abuse) || abuse.GetRetryAfter() != time.Second {
		t.Errorf("secondary limit: %v", err)
	}
	s.Fail(githubtest.Failure{Drop: true, Times: 2}) // net/http retries an idempotent request once
	if _, _, err := client(t, s, "test-token").Users.Get(ctx, ""); err == nil {
		t.Error("dropped connection gave no error")
	}
	s.SetRateLimit(10, 0, time.Now().Add(time.Minute))
	var rl *gh.RateLimitError
	if _, _, err := client(t, s, "test-token").Users.Get(ctx, ""); !errors.As(err, &rl) || rl.Response.StatusCode != http.StatusForbidden {
		t.Errorf("primary limit: %v", err)
	}
}
