package giteatest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

// delivery is one webhook request as the receiver saw it.
type delivery struct {
	event   string // X-GitHub-Event
	id      string // X-GitHub-Delivery
	sig     string // X-Hub-Signature-256
	payload []byte // body, returned by github.ValidatePayload
	err     error  // from github.ValidatePayload
	raw     map[string]any
}

// receiver is a loopback HTTP server that checks each delivery's signature
// the way gitlaunch's webhook handler does and queues it for the test.
func receiver(t *testing.T, secret string) (*httptest.Server, <-chan delivery) {
	t.Helper()
	ch := make(chan delivery, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := delivery{event: github.WebHookType(r), id: github.DeliveryID(r), sig: r.Header.Get(github.SHA256SignatureHeader)}
		d.payload, d.err = github.ValidatePayload(r, []byte(secret))
		if d.err == nil {
			_ = json.Unmarshal(d.payload, &d.raw)
		}
		select {
		case ch <- d:
		default:
			t.Errorf("webhook queue full; dropped %s", d.event)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

// await returns the first delivery of event for which match holds; the
// deliveries it passes over are appended to skipped, when not nil.
func await(t *testing.T, ch <-chan delivery, event string, match func(delivery) bool, skipped ...*[]delivery) delivery {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case d := <-ch:
			if d.err != nil {
				t.Fatalf("%s delivery %s: signature check: %v", d.event, d.id, d.err)
			}
			if d.event == event && match(d) {
				return d
			}
			for _, s := range skipped {
				*s = append(*s, d)
			}
		case <-timeout:
			t.Fatalf("no %s delivery within 60 s", event)
		}
	}
}

func action(d delivery) string { s, _ := d.raw["action"].(string); return s }

func TestWebhooks(t *testing.T) {
	s := Start(t)
	s.CreateRepo(t, "hooks")
	const secret = "s3cret"
	srv, ch := receiver(t, secret)
	s.CreateHook(t, "hooks", srv.URL+"/webhook", secret)
	owner, repo := s.Admin, "hooks"

	// push: a new branch pushed with git over HTTP.
	work := t.TempDir()
	git(t, work, "clone", "--quiet", s.AuthURL(repo, s.Admin, s.Token), ".")
	git(t, work, "switch", "--quiet", "-c", "feature")
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("job.yaml", "name: one\n")
	git(t, work, "add", ".")
	git(t, work, "commit", "--quiet", "-m", "one")
	first := git(t, work, "rev-parse", "HEAD")
	git(t, work, "push", "--quiet", "origin", "feature")

	d := await(t, ch, "push", func(d delivery) bool { return d.raw["ref"] == "refs/heads/feature" })
	ev, err := github.ParseWebHook(d.event, d.payload)
	if err != nil {
		t.Fatalf("ParseWebHook(push): %v", err)
	}
	push := ev.(*github.PushEvent)
	if push.GetAfter() != first || push.GetRepo().GetFullName() != owner+"/"+repo || push.GetRepo().GetCloneURL() != s.CloneURL(repo) {
		t.Errorf("push event: after %s repo %s clone %s", push.GetAfter(), push.GetRepo().GetFullName(), push.GetRepo().GetCloneURL())
	}
	// Differences from GitHub: no created/deleted/forced flags in push payloads.
	for _, k := range []string{"created", "deleted", "forced"} {
		if _, ok := d.raw[k]; ok {
			t.Errorf("push payload now has %q: update the package doc", k)
		}
	}
	if _, ok := d.raw["compare_url"]; !ok {
		t.Errorf("push payload has no compare_url")
	}
	if push.GetBefore() != "0000000000000000000000000000000000000000" {
		t.Errorf("push of a new branch: before = %q, want 40 zeros", push.GetBefore())
	}

	// The same body validates with the secret and not with another one, so
	// the check above is real.
	for _, tc := range []struct {
		secret string
		ok     bool
	}{{secret, true}, {"wrong", false}} {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(d.payload))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(github.SHA256SignatureHeader, d.sig)
		if _, err := github.ValidatePayload(req, []byte(tc.secret)); (err == nil) != tc.ok {
			t.Errorf("ValidatePayload with secret %q: %v, want ok=%v", tc.secret, err, tc.ok)
		}
	}
	if !strings.HasPrefix(d.sig, "sha256=") {
		t.Errorf("X-Hub-Signature-256 = %q", d.sig)
	}

	// pull_request opened.
	number := s.CreatePullRequest(t, repo, "feature", "main", "One")
	d = await(t, ch, "pull_request", func(d delivery) bool { return action(d) == "opened" })
	ev, err = github.ParseWebHook(d.event, d.payload)
	if err != nil {
		t.Fatalf("ParseWebHook(pull_request): %v", err)
	}
	pre := ev.(*github.PullRequestEvent)
	if pre.GetNumber() != number || pre.GetPullRequest().GetHead().GetSHA() != first ||
		pre.GetPullRequest().GetBase().GetRef() != "main" || pre.GetRepo().GetFullName() != owner+"/"+repo {
		t.Errorf("pull_request event: #%d head %s base %s repo %s", pre.GetNumber(),
			pre.GetPullRequest().GetHead().GetSHA(), pre.GetPullRequest().GetBase().GetRef(), pre.GetRepo().GetFullName())
	}

	// issue_comment on the pull request.
	c, _, err := client(t, s, s.Token).Issues.CreateComment(ctxT(t), owner, repo, number, &github.IssueComment{Body: github.String("/gitlaunch run train")})
	if err != nil {
		t.Fatal(err)
	}
	d = await(t, ch, "issue_comment", func(d delivery) bool { return action(d) == "created" })
	comment, _ := d.raw["comment"].(map[string]any)
	issue, _ := d.raw["issue"].(map[string]any)
	if comment["body"] != "/gitlaunch run train" || comment["id"] != float64(c.GetID()) || issue["number"] != float64(number) || issue["pull_request"] == nil {
		t.Errorf("issue_comment payload: comment %v issue #%v pull_request %v", comment["body"], issue["number"], issue["pull_request"])
	}
	if d.raw["is_pull"] != true || d.raw["pull_request"] == nil {
		t.Errorf("issue_comment payload: is_pull %v, pull_request present %v", d.raw["is_pull"], d.raw["pull_request"] != nil)
	}
	if _, err := github.ParseWebHook(d.event, d.payload); err == nil {
		t.Errorf("ParseWebHook(issue_comment) now succeeds: update the package doc")
	} else {
		t.Logf("ParseWebHook(issue_comment): %v", err)
	}

	// synchronize: a push to the pull request's head branch.
	write("job.yaml", "name: two\n")
	git(t, work, "commit", "--quiet", "-am", "two")
	second := git(t, work, "rev-parse", "HEAD")
	git(t, work, "push", "--quiet", "origin", "feature")
	d = await(t, ch, "pull_request", func(d delivery) bool { return action(d) != "opened" })
	if got := action(d); got != "synchronized" {
		t.Errorf("pull_request action after a push = %q, want Gitea's \"synchronized\"", got)
	}
	for _, k := range []string{"before", "after"} {
		if _, ok := d.raw[k]; ok {
			t.Errorf("synchronized payload now has %q: update the package doc", k)
		}
	}
	ev, err = github.ParseWebHook(d.event, d.payload)
	if err != nil {
		t.Fatalf("ParseWebHook(pull_request synchronized): %v", err)
	}
	if got := ev.(*github.PullRequestEvent).GetPullRequest().GetHead().GetSHA(); got != second {
		t.Errorf("synchronized head = %s, want %s", got, second)
	}

	// Deleting a branch: a delete event, and (unlike GitHub) no push event
	// with deleted=true. A push to main afterwards bounds the wait.
	git(t, work, "push", "--quiet", "origin", "main:doomed")
	await(t, ch, "push", func(d delivery) bool { return d.raw["ref"] == "refs/heads/doomed" })
	git(t, work, "push", "--quiet", "origin", ":doomed")
	d = await(t, ch, "delete", func(d delivery) bool { return d.raw["ref"] == "doomed" })
	if d.raw["ref_type"] != "branch" {
		t.Errorf("delete event ref_type = %v", d.raw["ref_type"])
	}
	s.CommitFile(t, repo, "main", "README.md", "bump\n")
	var between []delivery
	await(t, ch, "push", func(d delivery) bool { return d.raw["ref"] == "refs/heads/main" }, &between)
	for _, d := range between {
		if d.event == "push" && d.raw["ref"] == "refs/heads/doomed" {
			t.Errorf("Gitea now sends a push event for a deleted branch (after %v): update the package doc", d.raw["after"])
		}
	}
}
