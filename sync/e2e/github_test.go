package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/daemon/daemontest"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	"github.com/gitlaunch/gitlaunch/sync/github"
	"github.com/gitlaunch/gitlaunch/sync/github/githubtest"
)

// The GitHub fake's fixed names and values.
const (
	fullName    = "octo-org/models"
	ghToken     = "test-token" // githubtest's token of gitlaunch-bot
	hookSecret  = "It's a Secret to Everybody"
	wandbSecret = "wandb-s3cr3t-value-42"
)

// githubSyncer is one syncer process: the real engine on a real git
// remote, a SQLite store and the local executor, reporting to the GitHub
// fake and fed by its webhook endpoint over loopback HTTP. Restarting it
// on the same dataDir is a new process on the same data.
type githubSyncer struct {
	*daemontest.Syncer
	t *testing.T
}

func startGitHubSyncer(t *testing.T, remote *gittest.Remote, fake *githubtest.Server, dataDir string) *githubSyncer {
	t.Helper()
	secrets := writeTemp(t, "models.env", "WANDB_API_KEY="+wandbSecret+"\n")
	// Webhooks drive polling, so the safety-net poll waits an hour.
	cfg := daemontest.Config + fmt.Sprintf(`repos:
- url: %q
  name: models
  github: %s
  secretsFile: %q
github:
  baseURL: %q
sync:
  pollInterval: 1h
  listen: 127.0.0.1:0
  baseURL: https://gitlaunch.example.com
`, remote.URL, fullName, secrets, fake.URL)
	s := daemontest.Open(t, dataDir, cfg, daemon.Options{Getenv: environ(map[string]string{
		github.TokenEnv: ghToken, github.WebhookSecretEnv: hookSecret,
	})}).Start()
	return &githubSyncer{Syncer: s, t: t}
}

// deliver posts a signed webhook to the syncer, which must accept it
// within a second.
func (s *githubSyncer) deliver(event string, body []byte) {
	s.t.Helper()
	code, took := post(s.t, webhookURL(s.t, s.Syncer), hookSecret, event, time.Now().Format(time.RFC3339Nano), body)
	if code != http.StatusAccepted {
		s.t.Fatalf("%s delivery: %d", event, code)
	}
	if took > time.Second {
		s.t.Errorf("webhook answered in %v", took)
	}
}

func ourComment(fake *githubtest.Server, pr int) (githubtest.Comment, int) {
	var found []githubtest.Comment
	for _, c := range fake.Comments(fullName, pr) {
		if strings.HasPrefix(c.Body, github.CommentMarker) {
			found = append(found, c)
		}
	}
	if len(found) == 0 {
		return githubtest.Comment{}, 0
	}
	return found[0], len(found)
}

func prPayload(t *testing.T, file, action string, n int, sha, branch string) []byte {
	return patch(t, sample(t, file), map[string]any{"action": action, "number": n, "pull_request.number": n,
		"pull_request.head.sha": sha, "pull_request.head.ref": branch, "pull_request.base.ref": "main",
		"pull_request.state": map[bool]string{true: "closed", false: "open"}[action == "closed"]})
}

func commentBody(t *testing.T, id int64, user, text string, pr int) []byte {
	return patch(t, sample(t, "issue_comment_created.json"), map[string]any{
		"comment.id": id, "comment.body": text, "comment.user.login": user, "issue.number": pr})
}

// TestEngineWithGitHub: pushes, trusted and fork pull requests, approvals,
// /gitlaunch commands and a restart, through the syncer's webhook endpoint,
// reported as statuses and one comment per pull request on GitHub.
func TestEngineWithGitHub(t *testing.T) {
	remote := gittest.NewRemote(t)
	fake := githubtest.New(t)
	fake.AddRepo(fullName)
	fake.SetPermission(fullName, "alice", "write")
	fake.SetPermission(fullName, "bob", "read")
	jobYAML := func(acc, extra string) string {
		return "apiVersion: gitlaunch.dev/v1\nkind: Job\nname: mnist\nimage: busybox\n" +
			"command: |\n  echo \"key=${WANDB_API_KEY:-none}\"\n  echo '{\"accuracy\": " + acc + "}' > metrics.json\n" + extra +
			"secrets: [WANDB_API_KEY]\nresults:\n  metrics: {file: metrics.json}\n"
	}
	mainSHA := remote.Commit(t, "main", map[string]string{"mnist/job.yaml": jobYAML("97.5", "")}, "mnist")
	dir := t.TempDir()
	s := startGitHubSyncer(t, remote, fake, dir)

	// The first poll runs main's head; its status lands on GitHub.
	eventually(t, "main's status", func() bool {
		return len(fake.Statuses(fullName, mainSHA)) > 0 && fake.Combined(fullName, mainSHA)["gitlaunch/mnist"].State == "success"
	})

	// A trusted pull request: the webhook makes the engine poll and plan.
	prSHA := remote.Commit(t, "feature", map[string]string{"mnist/job.yaml": jobYAML("98.5", "")}, "better")
	remote.SetRef(t, "refs/pull/7/head", prSHA)
	fake.SetPR(fullName, githubtest.PullRequest{Number: 7, User: "alice", AuthorAssociation: "COLLABORATOR",
		HeadRef: "feature", HeadSHA: prSHA, HeadRepo: fullName, BaseRef: "main", BaseSHA: mainSHA})
	s.deliver("pull_request", prPayload(t, "pull_request_opened.json", "opened", 7, prSHA, "feature"))
	eventually(t, "the pull request's comment", func() bool {
		c, _ := ourComment(fake, 7)
		return strings.Contains(c.Body, "✅ succeeded") && strings.Contains(c.Body, "accuracy **98.5** (+1, +1.0%)")
	})
	if st := fake.Combined(fullName, prSHA)["gitlaunch/mnist"]; st.State != "success" || !strings.Contains(st.Description, "accuracy 98.5 (+1, +1.0%)") {
		t.Errorf("PR status = %+v", st)
	}

	// A restart: a new process on the same data finds the comment again.
	s.Stop()
	s = startGitHubSyncer(t, remote, fake, dir)

	// A fork's pull request waits for approval and runs without secrets.
	forkSHA := remote.Commit(t, "fork-patch", map[string]string{"mnist/job.yaml": jobYAML("99", "  exit 3\n")}, "fork")
	remote.SetRef(t, "refs/pull/8/head", forkSHA)
	fake.SetPR(fullName, githubtest.PullRequest{Number: 8, User: "mallory", AuthorAssociation: "FIRST_TIME_CONTRIBUTOR",
		HeadRef: "patch-1", HeadSHA: forkSHA, HeadRepo: "mallory/models", BaseRef: "main", BaseSHA: mainSHA})
	s.deliver("pull_request", prPayload(t, "pull_request_opened_fork.json", "opened", 8, forkSHA, "patch-1"))
	eventually(t, "the fork's waiting status", func() bool {
		st := fake.Combined(fullName, forkSHA)["gitlaunch/mnist"]
		c, _ := ourComment(fake, 8)
		return st.State == "pending" && strings.Contains(st.Description, "ok-to-test") && strings.Contains(c.Body, "⏸️ waiting")
	})
	// A reader cannot approve.
	c := fake.AddComment(fullName, 8, "bob", "/gitlaunch ok-to-test")
	s.deliver("issue_comment", commentBody(t, c.ID, "bob", c.Body, 8))
	eventually(t, "the refusal", func() bool { return len(fake.Comments(fullName, 8)) == 3 })
	// A collaborator can; the run has no secret.
	c = fake.AddComment(fullName, 8, "alice", "/gitlaunch ok-to-test")
	s.deliver("issue_comment", commentBody(t, c.ID, "alice", c.Body, 8))
	eventually(t, "the approved fork run", func() bool {
		c, _ := ourComment(fake, 8)
		return strings.Contains(c.Body, "❌ failed") && strings.Contains(c.Body, "key=none")
	})
	runs, err := s.Store().ListRuns(context.Background(), engine.RunFilter{PR: 8})
	if err != nil || len(runs) != 1 || !runs[0].Untrusted || runs[0].State != engine.StateFailed {
		t.Fatalf("fork runs = %+v, %v", runs, err)
	}

	// A new push to the fork needs a new approval.
	forkSHA2 := remote.Commit(t, "fork-patch", map[string]string{"mnist/train.py": "print(2)\n"}, "fork 2")
	remote.SetRef(t, "refs/pull/8/head", forkSHA2)
	fake.SetPR(fullName, githubtest.PullRequest{Number: 8, User: "mallory", AuthorAssociation: "FIRST_TIME_CONTRIBUTOR",
		HeadRef: "patch-1", HeadSHA: forkSHA2, HeadRepo: "mallory/models", BaseRef: "main", BaseSHA: mainSHA})
	s.deliver("pull_request", prPayload(t, "pull_request_opened_fork.json", "synchronize", 8, forkSHA2, "patch-1"))
	eventually(t, "the new commit waiting", func() bool {
		return fake.Combined(fullName, forkSHA2)["gitlaunch/mnist"].State == "pending"
	})
	// Closing the pull request cancels what waits.
	s.deliver("pull_request", prPayload(t, "pull_request_opened_fork.json", "closed", 8, forkSHA2, "patch-1"))
	eventually(t, "the cancelled run", func() bool {
		st := fake.Combined(fullName, forkSHA2)["gitlaunch/mnist"]
		return st.State == "error" && strings.Contains(st.Description, "pull request closed")
	})

	// /gitlaunch run on the trusted pull request: a new run at its head,
	// with secrets, reported in the same comment.
	c = fake.AddComment(fullName, 7, "alice", "/gitlaunch run mnist")
	s.deliver("issue_comment", commentBody(t, c.ID, "alice", c.Body, 7))
	eventually(t, "the commanded run", func() bool {
		rs, _ := s.Store().ListRuns(context.Background(), engine.RunFilter{PR: 7, States: []engine.State{engine.StateSucceeded}})
		comments := fake.Comments(fullName, 7)
		return len(rs) == 2 && len(comments[len(comments)-1].Reactions) == 1
	})
	rs, _ := s.Store().ListRuns(context.Background(), engine.RunFilter{PR: 7})
	var commanded *engine.Run
	for _, r := range rs {
		if r.Trigger == engine.TriggerComment {
			commanded = r
		}
	}
	if commanded == nil || commanded.Untrusted || commanded.SHA != prSHA {
		t.Fatalf("commanded run = %+v", commanded)
	}
	eventually(t, "the comment showing the commanded run", func() bool {
		c, _ := ourComment(fake, 7)
		return strings.Contains(c.Body, commanded.ID)
	})
	if _, n := ourComment(fake, 7); n != 1 {
		t.Errorf("%d comments on #7 after a restart", n)
	}
	// The secret reached the trusted run, and never GitHub.
	logs, _ := s.Store().OpenLog(context.Background(), commanded.ID, 0)
	b, _ := io.ReadAll(logs)
	logs.Close()
	if !strings.Contains(string(b), "key="+wandbSecret) {
		t.Errorf("trusted run log: %q", b)
	}
	for _, pr := range []int{7, 8} {
		for _, c := range fake.Comments(fullName, pr) {
			if strings.Contains(c.Body, wandbSecret) {
				t.Errorf("secret posted on #%d", pr)
			}
		}
	}
}
