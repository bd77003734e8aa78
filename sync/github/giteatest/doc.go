// Package giteatest runs a real Gitea (v1.26.0) on loopback as a stand-in for
// GitHub in tests: its REST API under /api/v1/ answers go-github v60 for the
// calls gitlaunch makes, its webhooks carry GitHub's headers and HMAC
// signature, and git over HTTP serves refs/pull/N/head like GitHub.
//
// Start finds the binary that hack/gitea.sh builds (or $GITLAUNCH_GITEA),
// writes an app.ini in a temporary directory (SQLite, in-memory queues,
// offline, no mail, SSH, registration or captcha, webhooks to loopback
// only), starts `gitea web` on a free 127.0.0.1 port, waits for
// /api/healthz, and creates the site administrator with `gitea admin user
// create --access-token --access-token-scopes all`. It takes 1–4 s on an
// idle machine. Without a binary the test fails with the build command, or
// is skipped when GITLAUNCH_SKIP_GITEA=1.
//
//	s := giteatest.Start(t)
//	s.CreateRepo(t, "demo")                          // gitlaunch/demo, branch main
//	sha := s.CommitFile(t, "demo", "feature", "job.yaml", "name: demo\n")
//	n := s.CreatePullRequest(t, "demo", "feature", "main", "Demo")
//	gh := github.NewClient(nil).WithAuthToken(s.Token)
//	gh.BaseURL, _ = url.Parse(s.APIURL)              // not WithEnterpriseURLs: it appends api/v3/
//
// Git pushes use HTTP basic auth with a token as the password:
// s.AuthURL(repo, user, token). Fork authors come from CreateUser and Fork,
// their pull requests from CreatePullRequestAs with head "user:branch".
//
// # Where Gitea differs from GitHub
//
// This package's tests check each of these and fail when one goes away,
// except those marked (source), which were read from Gitea's code.
//
// REST API (base URL …/api/v1/; tokens as "Bearer" or "token" both work):
//   - Commit status objects name their state "status", so go-github's
//     RepoStatus.State is nil in CreateStatus answers, ListStatuses and the
//     statuses inside GetCombinedStatus. The combined state itself is "state"
//     and decodes. ListStatuses is newest first only to the second (source).
//   - Issue comments: ListComments returns every comment at once; page and
//     per_page are ignored, so NextPage is 0 and page 2 repeats page 1.
//   - Other lists ignore per_page (Gitea reads limit; pages are [api]
//     DEFAULT_PAGING_NUM, 30, see Options.PageSize) but send Link headers,
//     so a NextPage loop is correct.
//   - Issue objects carry repository.owner as a string: Issues.Get (and
//     every call that decodes an issue) fails with a json.UnmarshalTypeError.
//     PullRequests.Get works (head sha/ref/repo, base ref, user, fork flag).
//   - GetPermissionLevel answers "owner" for the repository's owner (GitHub:
//     "admin"); collaborators get "read"/"write"/"admin"; anyone else gets
//     "read" on a public repository, as on GitHub.
//   - No author_association on comments or pull requests: decide trust with
//     GetPermissionLevel.
//   - Reactions on issue comments: create (201, then 200 for a repeat) and
//     list work, but reactions have no id, so DeleteIssueCommentReaction
//     (by id) has no equivalent (Gitea deletes by content).
//   - A non-collaborator gets 403 on CreateStatus, as on GitHub.
//   - Creating a webhook needs a type: "gitea" (Gitea has no "github" type;
//     every type sends the GitHub headers). Comments on pull requests are
//     only delivered to hooks subscribed to "pull_request" or
//     "pull_request_comment", not to "issue_comment" alone (source);
//     CreateHook subscribes to HookEvents, which covers them.
//
// Webhooks (Content-Type application/json):
//   - Headers X-GitHub-Event, X-GitHub-Delivery and X-Hub-Signature-256
//     (HMAC-SHA256 of the body) are set, so github.ValidatePayload and
//     github.WebHookType work unchanged.
//   - issue_comment: issue.repository.owner is a string, so
//     github.ParseWebHook fails; decode the payload into your own struct.
//     The payload also has is_pull and, for pull requests, pull_request.
//   - pull_request after a push to the head branch: action "synchronized"
//     (GitHub: "synchronize"), without before/after. opened, closed (with
//     merged), reopened are as on GitHub.
//   - push: no created, deleted or forced fields (before is 40 zeros for a
//     new branch); compare_url instead of compare. Deleting a branch sends
//     only a delete event, no push event.
//
// Git over HTTP: clone/fetch anonymously on public repositories, push with
// basic auth; refs/pull/N/head exists in the base repository as soon as a
// pull request is opened, for fork pull requests too.
package giteatest
