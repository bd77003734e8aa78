package giteatest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

// client is a go-github client for s as the owner of token. BaseURL is set
// directly: WithEnterpriseURLs would append "api/v3/" to Gitea's /api/v1/.
func client(t *testing.T, s *Server, token string) *github.Client {
	t.Helper()
	c := github.NewClient(nil).WithAuthToken(token)
	base, err := url.Parse(s.APIURL)
	if err != nil {
		t.Fatalf("API URL: %v", err)
	}
	c.BaseURL = base
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestGoGitHub exercises, through go-github v60, every GitHub API call the
// reporter and the webhook handler rely on, against one Gitea.
func TestGoGitHub(t *testing.T) {
	s := Start(t)
	s.CreateRepo(t, "demo")
	owner, repo := s.Admin, "demo"
	headSHA := s.CommitFile(t, repo, "feature", "train/job.yaml", "name: train\n")
	number := s.CreatePullRequest(t, repo, "feature", "main", "Train")
	gh := client(t, s, s.Token)

	t.Run("PullRequests.Get", func(t *testing.T) {
		pr, _, err := gh.PullRequests.Get(ctxT(t), owner, repo, number)
		if err != nil {
			t.Fatal(err)
		}
		checks := []struct{ what, got, want string }{
			{"head.sha", pr.GetHead().GetSHA(), headSHA},
			{"head.ref", pr.GetHead().GetRef(), "feature"},
			{"base.ref", pr.GetBase().GetRef(), "main"},
			{"head.repo.full_name", pr.GetHead().GetRepo().GetFullName(), owner + "/" + repo},
			{"base.repo.full_name", pr.GetBase().GetRepo().GetFullName(), owner + "/" + repo},
			{"head.repo.clone_url", pr.GetHead().GetRepo().GetCloneURL(), s.CloneURL(repo)},
			{"user.login", pr.GetUser().GetLogin(), s.Admin},
			{"state", pr.GetState(), "open"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
			}
		}
		if pr.GetNumber() != number {
			t.Errorf("number = %d, want %d", pr.GetNumber(), number)
		}
	})

	t.Run("Repositories.CreateStatus and ListStatuses", func(t *testing.T) {
		ctx := ctxT(t)
		for _, state := range []string{"pending", "success"} {
			st, _, err := gh.Repositories.CreateStatus(ctx, owner, repo, headSHA, &github.RepoStatus{
				State:       github.String(state),
				Context:     github.String("gitlaunch/train"),
				Description: github.String("train " + state),
				TargetURL:   github.String("http://127.0.0.1:1/runs/1"),
			})
			if err != nil {
				t.Fatalf("CreateStatus %s: %v", state, err)
			}
			if st.GetContext() != "gitlaunch/train" || st.GetDescription() != "train "+state || st.GetID() == 0 {
				t.Errorf("created status = %+v", st)
			}
			// Difference: Gitea names the state "status" in a status object,
			// so go-github's RepoStatus.State stays nil.
			if st.State != nil {
				t.Errorf("created status state = %q; Gitea now answers with \"state\": update the package doc", st.GetState())
			}
		}
		list, _, err := gh.Repositories.ListStatuses(ctx, owner, repo, headSHA, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Gitea orders by creation second, newest first; within one second
		// the order is the database's. GitHub is strictly newest first.
		var descs []string
		for _, st := range list {
			descs = append(descs, st.GetDescription())
		}
		slices.Sort(descs)
		if want := []string{"train pending", "train success"}; !slices.Equal(descs, want) {
			t.Fatalf("ListStatuses descriptions = %q, want %q", descs, want)
		}
		combined, _, err := gh.Repositories.GetCombinedStatus(ctx, owner, repo, headSHA, nil)
		if err != nil {
			t.Fatal(err)
		}
		if combined.GetState() != "success" || combined.GetSHA() != headSHA {
			t.Errorf("combined = %s @ %s, want success @ %s", combined.GetState(), combined.GetSHA(), headSHA)
		}
		if len(combined.Statuses) != 1 || combined.Statuses[0].GetContext() != "gitlaunch/train" {
			t.Errorf("combined statuses = %v, want the latest per context", combined.Statuses)
		}
	})

	t.Run("Issues comments", func(t *testing.T) {
		ctx := ctxT(t)
		var ids []int64
		for i := range 3 {
			c, _, err := gh.Issues.CreateComment(ctx, owner, repo, number, &github.IssueComment{
				Body: github.String(fmt.Sprintf("<!-- gitlaunch:%d -->\nrun %d", i, i)),
			})
			if err != nil {
				t.Fatalf("CreateComment: %v", err)
			}
			if c.GetID() == 0 || c.GetUser().GetLogin() != s.Admin {
				t.Fatalf("created comment = %+v", c)
			}
			ids = append(ids, c.GetID())
		}
		edited, _, err := gh.Issues.EditComment(ctx, owner, repo, ids[1], &github.IssueComment{Body: github.String("<!-- gitlaunch:1 -->\nedited")})
		if err != nil {
			t.Fatalf("EditComment: %v", err)
		}
		if edited.GetBody() != "<!-- gitlaunch:1 -->\nedited" {
			t.Errorf("edited body = %q", edited.GetBody())
		}

		// The reporter's loop: follow NextPage until it is 0.
		var all []*github.IssueComment
		opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 2}}
		pages := 0
		for {
			page, resp, err := gh.Issues.ListComments(ctx, owner, repo, number, opts)
			if err != nil {
				t.Fatalf("ListComments: %v", err)
			}
			pages++
			all = append(all, page...)
			if resp.NextPage == 0 || pages > 10 {
				break
			}
			opts.Page = resp.NextPage
		}
		var bodies []string
		for _, c := range all {
			bodies = append(bodies, c.GetBody())
		}
		want := []string{"<!-- gitlaunch:0 -->\nrun 0", "<!-- gitlaunch:1 -->\nedited", "<!-- gitlaunch:2 -->\nrun 2"}
		if strings.Join(bodies, "|") != strings.Join(want, "|") {
			t.Errorf("listed bodies (%d pages) = %q, want %q", pages, bodies, want)
		}
		// Difference: Gitea lists all comments of an issue at once and ignores
		// page (and per_page), so NextPage is 0 and page 2 repeats page 1.
		if pages != 1 {
			t.Errorf("ListComments took %d pages; Gitea now paginates comments: update the package doc", pages)
		}
		again, _, err := gh.Issues.ListComments(ctx, owner, repo, number, &github.IssueListCommentsOptions{ListOptions: github.ListOptions{Page: 2, PerPage: 2}})
		if err != nil {
			t.Fatalf("ListComments page 2: %v", err)
		}
		if len(again) != len(all) {
			t.Errorf("page 2 has %d comments, want all %d again", len(again), len(all))
		}
	})

	t.Run("Repositories.GetPermissionLevel", func(t *testing.T) {
		ctx := ctxT(t)
		s.CreateUser(t, "writer")
		s.AddCollaborator(t, repo, "writer", "write")
		s.CreateUser(t, "reader")
		s.AddCollaborator(t, repo, "reader", "read")
		s.CreateUser(t, "stranger")
		tests := []struct{ user, want string }{
			{"writer", "write"},
			{"reader", "read"},
			{s.Admin, "owner"},   // GitHub: "admin"
			{"stranger", "read"}, // a public repository, as on GitHub
		}
		for _, tc := range tests {
			p, _, err := gh.Repositories.GetPermissionLevel(ctx, owner, repo, tc.user)
			if err != nil {
				t.Errorf("GetPermissionLevel(%s): %v", tc.user, err)
				continue
			}
			if p.GetPermission() != tc.want {
				t.Errorf("GetPermissionLevel(%s) = %q, want %q", tc.user, p.GetPermission(), tc.want)
			}
		}
	})

	t.Run("Issues.Get fails to decode", func(t *testing.T) {
		// Gitea's issue objects carry repository.owner as a string; go-github
		// expects a user object, so Issues.Get (and issue_comment webhooks,
		// see TestWebhooks) cannot be decoded. PullRequests.Get works.
		_, _, err := gh.Issues.Get(ctxT(t), owner, repo, number)
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			t.Fatalf("Issues.Get: %v; Gitea issues now decode: update the package doc", err)
		}
	})

	t.Run("Reactions on a comment", func(t *testing.T) {
		ctx := ctxT(t)
		c, _, err := gh.Issues.CreateComment(ctx, owner, repo, number, &github.IssueComment{Body: github.String("/gitlaunch run")})
		if err != nil {
			t.Fatal(err)
		}
		r, resp, err := gh.Reactions.CreateIssueCommentReaction(ctx, owner, repo, c.GetID(), "eyes")
		if err != nil {
			t.Fatalf("CreateIssueCommentReaction: %v", err)
		}
		if r.GetContent() != "eyes" || r.GetUser().GetLogin() != s.Admin {
			t.Errorf("reaction = %+v (status %d)", r, resp.StatusCode)
		}
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("first reaction: status %d, want 201", resp.StatusCode)
		}
		// Difference: Gitea's reactions have no id, so go-github's
		// DeleteIssueCommentReaction (by reaction id) has no equivalent.
		if r.ID != nil {
			t.Errorf("reaction has id %d; update the package doc", r.GetID())
		}
		// Reacting twice is not an error, as on GitHub (200 with the existing one).
		_, resp, err = gh.Reactions.CreateIssueCommentReaction(ctx, owner, repo, c.GetID(), "eyes")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("second identical reaction: %v (status %d), want 200", err, resp.StatusCode)
		}
		list, _, err := gh.Reactions.ListIssueCommentReactions(ctx, owner, repo, c.GetID(), nil)
		if err != nil {
			t.Fatalf("ListIssueCommentReactions: %v", err)
		}
		if len(list) != 1 || list[0].GetContent() != "eyes" {
			t.Errorf("reactions = %v", list)
		}
	})

	t.Run("fork pull request", func(t *testing.T) {
		ctx := ctxT(t)
		tok := s.CreateUser(t, "forker")
		fork := s.Fork(t, repo, tok)
		if fork != "forker/"+repo {
			t.Fatalf("fork = %q", fork)
		}
		sha := s.CommitFile(t, fork, "patch", "train/job.yaml", "name: train\nimage: evil\n")
		n := s.CreatePullRequestAs(t, tok, repo, "forker:patch", "main", "From a fork")
		pr, _, err := client(t, s, tok).PullRequests.Get(ctx, owner, repo, n)
		if err != nil {
			t.Fatal(err)
		}
		if pr.GetHead().GetSHA() != sha || pr.GetHead().GetRepo().GetFullName() != fork ||
			!pr.GetHead().GetRepo().GetFork() || pr.GetUser().GetLogin() != "forker" {
			t.Errorf("fork PR head = %s %s fork=%v by %s", pr.GetHead().GetSHA(), pr.GetHead().GetRepo().GetFullName(),
				pr.GetHead().GetRepo().GetFork(), pr.GetUser().GetLogin())
		}
		refs := lsRemote(t, s.CloneURL(repo))
		if got := refs[fmt.Sprintf("refs/pull/%d/head", n)]; got != sha {
			t.Errorf("refs/pull/%d/head in the base repo = %q, want %s", n, got, sha)
		}
		// The fork author cannot set statuses on the base repository.
		_, _, err = client(t, s, tok).Repositories.CreateStatus(ctx, owner, repo, sha, &github.RepoStatus{State: github.String("success"), Context: github.String("x")})
		var ghErr *github.ErrorResponse
		if !errors.As(err, &ghErr) || ghErr.Response.StatusCode != http.StatusForbidden {
			t.Errorf("status by a non-collaborator: %v, want 403", err)
		}
	})
}

// TestPagination: with a small page size, go-github's NextPage loop walks
// Gitea's Link headers (Gitea reads ?limit=, not per_page).
func TestPagination(t *testing.T) {
	s := StartWith(t, Options{PageSize: 2})
	s.CreateRepo(t, "pages")
	owner, repo := s.Admin, "pages"
	want := map[int]bool{}
	for _, branch := range []string{"a", "b", "c"} {
		s.CommitFile(t, repo, branch, branch+".txt", branch)
		want[s.CreatePullRequest(t, repo, branch, "main", branch)] = true
	}
	gh := client(t, s, s.Token)
	ctx := ctxT(t)
	opts := &github.PullRequestListOptions{State: "open", ListOptions: github.ListOptions{PerPage: 100}}
	got := map[int]bool{}
	pages := 0
	for {
		prs, resp, err := gh.PullRequests.List(ctx, owner, repo, opts)
		if err != nil {
			t.Fatalf("PullRequests.List: %v", err)
		}
		pages++
		if len(prs) > 2 {
			t.Fatalf("page %d has %d pull requests; per_page=100 should be ignored", pages, len(prs))
		}
		for _, pr := range prs {
			got[pr.GetNumber()] = true
		}
		if resp.NextPage == 0 || pages > 5 {
			break
		}
		opts.Page = resp.NextPage
	}
	if pages != 2 || !maps.Equal(got, want) {
		t.Errorf("listed %v over %d pages, want %v over 2", got, pages, want)
	}
}
