package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	"github.com/gitlaunch/gitlaunch/sync/github/githubtest"
	"github.com/gitlaunch/gitlaunch/sync/local"
	"github.com/gitlaunch/gitlaunch/sync/store"
	"github.com/gitlaunch/gitlaunch/templates"
)

// stack is one syncer process: the real engine on a real git remote, a
// SQLite store and the local executor, reporting to the fake GitHub and
// fed by the webhook handler over loopback HTTP.
type stack struct {
	t      *testing.T
	eng    *engine.Engine
	st     *store.Store
	exec   *local.Executor
	hook   *WebhookHandler
	srv    *httptest.Server
	stop   func()
	deliv  int
	secret string
}

type checkouter struct{ src *git.Repo }

func (c checkouter) Checkout(ctx context.Context, _, sha, dest string) error {
	return c.src.Checkout(ctx, sha, dest)
}

func startStack(t *testing.T, remote *gittest.Remote, fake *githubtest.Server, dir string) *stack {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, filepath.Join(dir, "gitlaunch.db"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := git.Open(ctx, git.Options{URL: remote.URL, CacheDir: filepath.Join(dir, "git"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	exec, err := local.New(local.Options{DataDir: dir, Checkout: checkouter{src}, KillGrace: time.Second, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := schema.LoadConfig("gitlaunch.yaml", []byte("apiVersion: gitlaunch.dev/v1\nkind: Config\n"))
	if err != nil {
		t.Fatal(err)
	}
	base, err := templates.ParsePod(templates.PodYAML)
	if err != nil {
		t.Fatal(err)
	}
	client := newClient(t, fake)
	trust, err := NewTrust(TrustOptions{Client: client, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	repo := &engine.Repo{Name: "models", URL: remote.URL, Source: src, GitHub: fullName, Secrets: map[string]string{"WANDB_API_KEY": secret}}
	var eng *engine.Engine
	rep, err := NewReporter(ReporterOptions{Client: client, Store: st, BaseURL: "https://gitlaunch.example.com", Logger: quiet,
		Repos: func(name string) (*engine.Repo, bool) { return eng.Repo(name) }, Secrets: []string{"test-token", hookSecret}})
	if err != nil {
		t.Fatal(err)
	}
	eng, err = engine.New(engine.Options{
		Config: cfg, Store: st, Executor: exec, Reporters: []engine.Reporter{rep}, PRs: trust, Logger: quiet,
		Repos: []*engine.Repo{repo}, PollInterval: time.Hour, // webhooks drive polling
		Render: func(job *schema.Job, r *engine.Run) (*corev1.Pod, error) {
			return render.Pod(job, render.RunContext{RunID: r.ID, Repo: r.Repo, RepoURL: r.RepoURL, SHA: r.SHA, Ref: r.Ref,
				Branch: r.Branch, PR: r.PR, Trigger: string(r.Trigger), Untrusted: r.Untrusted, Attempt: max(r.Attempt, 1),
				SecretName: "models-secrets"}, cfg, base)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := NewWebhookHandler(WebhookOptions{Secret: []byte(hookSecret), Engine: eng, Trust: trust, Client: client, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, eng: eng, st: st, exec: exec, hook: hook, srv: httptest.NewServer(hook)}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { eng.Run(runCtx); done <- struct{}{} }()
	go func() { hook.Run(runCtx); done <- struct{}{} }()
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		<-done
		s.srv.Close()
		exec.Close()
		st.Close()
	}
	t.Cleanup(s.stop)
	return s
}

func (s *stack) deliver(event string, body []byte) {
	s.t.Helper()
	s.deliv++
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", time.Now().Format(time.RFC3339Nano))
	req.Header.Set("X-Hub-Signature-256", sign(body, hookSecret))
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		s.t.Fatalf("%s delivery: %d", event, resp.StatusCode)
	}
	if d := time.Since(start); d > time.Second {
		s.t.Errorf("webhook answered in %v", d)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ourComment(fake *githubtest.Server, pr int) (githubtest.Comment, int) {
	var found []githubtest.Comment
	for _, c := range fake.Comments(fullName, pr) {
		if strings.HasPrefix(c.Body, CommentMarker) {
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

func TestEngineWithGitHub(t *testing.T) {
	remote := gittest.NewRemote(t)
	fake := githubtest.New(t)
	fake.AddRepo(fullName)
	fake.SetPermission(fullName, "alice", "write")
	fake.SetPermission(fullName, "bob", "read")
	jobYAML := func(acc, extra string) string {
		return "apiVersion: gitlaunch.dev/v1\nkind: Job\nname: mnist\nimage: busybox\n" +
			"command: |\n  echo \"key=${WANDB_API_KEY:-none}\"\n  echo \"sum=$(printf %s \"$WANDB_API_KEY\" | sha256sum | cut -c1-16)\"\n" +
			"  echo '{\"accuracy\": " + acc + "}' > metrics.json\n" + extra +
			"secrets: [WANDB_API_KEY]\nresults:\n  metrics: {file: metrics.json}\n"
	}
	mainSHA := remote.Commit(t, "main", map[string]string{"mnist/job.yaml": jobYAML("97.5", "")}, "mnist")
	dir := t.TempDir()
	s := startStack(t, remote, fake, dir)

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
	s.stop()
	s = startStack(t, remote, fake, dir)

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
	runs, err := s.st.ListRuns(context.Background(), engine.RunFilter{PR: 8})
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
		rs, _ := s.st.ListRuns(context.Background(), engine.RunFilter{PR: 7, States: []engine.State{engine.StateSucceeded}})
		comments := fake.Comments(fullName, 7)
		return len(rs) == 2 && len(comments[len(comments)-1].Reactions) == 1
	})
	rs, _ := s.st.ListRuns(context.Background(), engine.RunFilter{PR: 7})
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
	// The secret reached the trusted run (its checksum shows), and never
	// the log or GitHub.
	logs, _ := s.st.OpenLog(context.Background(), commanded.ID, 0)
	b, _ := io.ReadAll(logs)
	logs.Close()
	sum := sha256.Sum256([]byte(secret))
	if !strings.Contains(string(b), "key=***\n") || !strings.Contains(string(b), "sum="+hex.EncodeToString(sum[:])[:16]) {
		t.Errorf("trusted run log: %q", b)
	}
	for _, pr := range []int{7, 8} {
		for _, c := range fake.Comments(fullName, pr) {
			if strings.Contains(c.Body, secret) {
				t.Errorf("secret posted on #%d", pr)
			}
		}
	}
}
