package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/daemon/daemontest"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	"github.com/gitlaunch/gitlaunch/sync/github"
	"github.com/gitlaunch/gitlaunch/sync/github/giteatest"
	"github.com/gitlaunch/gitlaunch/sync/store"
)

// The end-to-end test's fixed names and values.
const (
	e2eRepo       = "models"
	e2eJob        = "train"
	e2eBot        = "gitlaunch-bot" // the syncer's API user, as in production
	e2eHookSecret = "e2e-webhook-s3cret"
	e2eSecret     = "e2e-repo-s3cret-value-77" // a repository secret trusted runs get
	// e2eWait bounds each wait for something the syncer or Gitea does; a
	// step takes about a second, the margin is for a busy 2-core machine.
	e2eWait = 45 * time.Second
)

// TestGiteaEndToEnd runs `gitlaunch sync --listen` as sync/daemon opens it
// from an admin's config (engine, local executor, SQLite store, console
// and GitHub reporters, Trust, the webhook handler behind sync/web on a
// loopback HTTP server) against a real Gitea. Nothing is faked and nothing is
// stepped by hand: Gitea's webhooks drive the engine's own loop (its poll
// interval is the production one with webhooks, 5 minutes, so a missed
// webhook would time the test out), and every assertion reads what Gitea
// shows, through go-github, or what the jobs left behind.
//
// Every run prints a launch line into its log, so "launched exactly once"
// is checked for every run, across the restart (the sandbox lets a job
// write nothing outside its workspace, so the log is the honest record).
//
// Differences from GitHub met here (see also giteatest): Gitea answers
// "owner" as the repository owner's permission; its status objects carry
// the state under "status"; a pull request push arrives as action
// "synchronized"; comments on pull requests arrive as issue_comment with
// is_pull. A write collaborator may not ask Gitea for another user's
// permission (403), so the bot is an admin collaborator here.
func TestGiteaEndToEnd(t *testing.T) {
	began := time.Now()
	w := newE2EWorld(t)
	s := w.startSyncer("", nil)

	// 1. A push to main: webhook → poll → run → status success on Gitea.
	work := w.clone()
	mainSHA := work.commit(map[string]string{
		e2eJob + "/job.yaml": w.jobYAML(),
		e2eJob + "/acc.txt":  "90\n",
	}, "add the train job")
	st := w.waitStatus(mainSHA, "success")
	if !strings.Contains(st.Description, "accuracy 90") {
		t.Errorf("main status description = %q, want the headline metric", st.Description)
	}
	mainRun := w.onlyRunAt(s, mainSHA)
	if mainRun.Trigger != engine.TriggerPush || mainRun.Untrusted || mainRun.Metrics["accuracy"] != 90 {
		t.Errorf("main run = trigger %s untrusted %v metrics %v", mainRun.Trigger, mainRun.Untrusted, mainRun.Metrics)
	}
	if len(mainRun.Artifacts) != 1 || mainRun.Artifacts[0].Path != "out/model.txt" {
		t.Errorf("main run artifacts = %+v, want out/model.txt", mainRun.Artifacts)
	}
	w.checkRunPage(st.TargetURL, mainRun.ID)
	if log := w.runLog(s, mainRun.ID); !strings.Contains(log, "key="+e2eSecret) {
		t.Errorf("a trusted run did not get the repository secret; log:\n%s", log)
	}

	// 2. A pull request from a branch of the repository, by the owner: it
	// is trusted, runs, and gets one comment with the job table and metric.
	work.git("switch", "--quiet", "-c", "better")
	prSHA1 := work.commit(map[string]string{e2eJob + "/acc.txt": "93\n"}, "better accuracy")
	pr := w.gitea.CreatePullRequest(t, e2eRepo, "better", "main", "Better accuracy")
	w.waitStatus(prSHA1, "success")
	first := w.waitComment(pr, func(body string) bool {
		return strings.Contains(body, engine.ShortSHA(prSHA1)) && strings.Contains(body, "✅ succeeded")
	})
	for _, want := range []string{
		"| " + e2eJob + " | ✅ succeeded",
		"accuracy **93** (+3, +3.3%)", // against main's run
		"`out/model.txt`",
		"http://" + w.addr + "/runs/",
	} {
		if !strings.Contains(first.GetBody(), want) {
			t.Errorf("pull request comment lacks %q:\n%s", want, first.GetBody())
		}
	}
	if first.GetUser().GetLogin() != e2eBot {
		t.Errorf("comment written by %q, want %q", first.GetUser().GetLogin(), e2eBot)
	}

	// A push to the pull request's branch edits the same comment.
	prSHA2 := work.commit(map[string]string{e2eJob + "/acc.txt": "95\n"}, "even better")
	w.waitStatus(prSHA2, "success")
	edited := w.waitComment(pr, func(body string) bool {
		return strings.Contains(body, engine.ShortSHA(prSHA2)) && strings.Contains(body, "accuracy **95** (+5")
	})
	if edited.GetID() != first.GetID() {
		t.Errorf("a push made comment %d; want comment %d edited", edited.GetID(), first.GetID())
	}
	if strings.Contains(edited.GetBody(), engine.ShortSHA(prSHA1)) {
		t.Errorf("edited comment still names the old head %s:\n%s", engine.ShortSHA(prSHA1), edited.GetBody())
	}

	// 3. A restart while a run runs: the job waits on a gate file, the
	// syncer stops, a fresh one on the same data directory adopts the
	// live process, and only then is the gate opened.
	w.closeGate(false)
	prSHA3 := work.commit(map[string]string{e2eJob + "/acc.txt": "96\n"}, "train longer")
	restarted := w.waitLaunch(prSHA3)
	w.waitStatus(prSHA3, "pending")
	s.Stop()
	s = w.startSyncer("", nil)
	w.waitFor("the restarted syncer to adopt run "+restarted, func() (bool, string) {
		r := w.runIn(s, restarted)
		if r == nil {
			return false, "no run"
		}
		return r.State == engine.StateRunning && strings.Contains(r.Reason, "adopted"), string(r.State) + ": " + r.Reason
	})
	w.closeGate(true)
	st = w.waitStatus(prSHA3, "success")
	if want := "/runs/" + restarted; !strings.HasSuffix(st.TargetURL, want) {
		t.Errorf("status target %q, want …%s", st.TargetURL, want)
	}
	afterRestart := w.waitComment(pr, func(body string) bool {
		return strings.Contains(body, engine.ShortSHA(prSHA3)) && strings.Contains(body, "✅ succeeded") &&
			strings.Contains(body, "accuracy **96**")
	})
	if afterRestart.GetID() != first.GetID() {
		t.Errorf("after the restart comment %d was written; want %d edited", afterRestart.GetID(), first.GetID())
	}
	if r := w.runIn(s, restarted); r.Attempt != 1 || r.State != engine.StateSucceeded {
		t.Errorf("adopted run: attempt %d state %s", r.Attempt, r.State)
	}

	// 4. /gitlaunch run from the owner: a reaction and a new run at the
	// head commit, shown in the same comment.
	command, _, err := w.api.Issues.CreateComment(w.ctx(), w.owner, e2eRepo, pr,
		&gh.IssueComment{Body: gh.String("/gitlaunch run " + e2eJob)})
	if err != nil {
		t.Fatalf("comment the run command: %v", err)
	}
	w.waitReaction(command.GetID(), "rocket")
	var commanded *engine.Run
	w.waitFor("the commanded run to succeed", func() (bool, string) {
		runs := w.runs(s, engine.RunFilter{PR: pr, SHA: prSHA3})
		for _, r := range runs {
			if r.Trigger == engine.TriggerComment {
				commanded = r
				return r.State == engine.StateSucceeded, string(r.State)
			}
		}
		return false, fmt.Sprintf("%d runs at the head, none by comment", len(runs))
	})
	if commanded.Untrusted || commanded.ID == restarted {
		t.Errorf("commanded run %s: untrusted %v (the adopted run was %s)", commanded.ID, commanded.Untrusted, restarted)
	}
	w.waitComment(pr, func(body string) bool { return strings.Contains(body, commanded.ID) })
	w.waitFor("the status to point at the commanded run", func() (bool, string) {
		st, _ := w.status(prSHA3)
		return st.State == "success" && strings.HasSuffix(st.TargetURL, "/runs/"+commanded.ID), st.State + " " + st.TargetURL
	})

	// 5. A fork's pull request by a user without write access waits; its
	// author cannot approve it; the owner's /gitlaunch ok-to-test runs it
	// without secrets.
	forkerToken := w.gitea.CreateUser(t, "forker")
	fork := w.gitea.Fork(t, e2eRepo, forkerToken)
	forkSHA := w.gitea.CommitFile(t, fork, "patch", e2eJob+"/acc.txt", "99\n")
	forkPR := w.gitea.CreatePullRequestAs(t, forkerToken, e2eRepo, "forker:patch", "main", "From a fork")
	st = w.waitStatus(forkSHA, "pending")
	if !strings.Contains(st.Description, "ok-to-test") {
		t.Errorf("fork status description = %q, want the ok-to-test hint", st.Description)
	}
	waiting := w.waitComment(forkPR, func(body string) bool { return strings.Contains(body, "⏸️ waiting") })
	forker, err := github.NewClient(w.gitea.APIURL, forkerToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := forker.Issues.CreateComment(w.ctx(), w.owner, e2eRepo, forkPR,
		&gh.IssueComment{Body: gh.String("/gitlaunch ok-to-test")}); err != nil {
		t.Fatalf("forker's comment: %v", err)
	}
	w.waitFor("the refusal of the fork author's approval", func() (bool, string) {
		for _, c := range w.comments(forkPR) {
			if strings.HasPrefix(c.GetBody(), github.ReplyMarker) && strings.Contains(c.GetBody(), "only collaborators with write access") {
				return true, ""
			}
		}
		return false, ""
	})
	if n := w.launchesOf(forkSHA); n != 0 {
		t.Fatalf("the fork's job ran %d time(s) before approval", n)
	}
	approval, _, err := w.api.Issues.CreateComment(w.ctx(), w.owner, e2eRepo, forkPR,
		&gh.IssueComment{Body: gh.String("/gitlaunch ok-to-test")})
	if err != nil {
		t.Fatalf("owner's approval: %v", err)
	}
	w.waitReaction(approval.GetID(), "+1")
	w.waitStatus(forkSHA, "success")
	approved := w.waitComment(forkPR, func(body string) bool {
		return strings.Contains(body, "✅ succeeded") && strings.Contains(body, "accuracy **99**")
	})
	if approved.GetID() != waiting.GetID() {
		t.Errorf("approval made comment %d; want comment %d edited", approved.GetID(), waiting.GetID())
	}
	forkRun := w.onlyRunAt(s, forkSHA)
	if !forkRun.Untrusted {
		t.Errorf("the fork's run is trusted")
	}
	if log := w.runLog(s, forkRun.ID); !strings.Contains(log, "key=none") {
		t.Errorf("the fork's run saw a secret; log:\n%s", log)
	}

	// Across everything: one gitlaunch comment per pull request, nothing
	// secret posted, and every run launched exactly once.
	for _, n := range []int{pr, forkPR} {
		if ours := w.ourComments(n); len(ours) != 1 {
			t.Errorf("pull request #%d has %d gitlaunch comments, want 1", n, len(ours))
		}
		for _, c := range w.comments(n) {
			for _, v := range []string{e2eSecret, w.botToken, e2eHookSecret} {
				if strings.Contains(c.GetBody(), v) {
					t.Errorf("comment %d on #%d shows a secret value", c.GetID(), n)
				}
			}
		}
	}
	launched := w.launches()
	for _, r := range w.runs(s, engine.RunFilter{Repo: e2eRepo}) {
		if n := launched[r.ID]; n != 1 {
			t.Errorf("run %s (%s %s) launched %d times, want 1", r.ID, r.Trigger, engine.ShortSHA(r.SHA), n)
		}
		delete(launched, r.ID)
	}
	for id, n := range launched {
		t.Errorf("launch of unknown run %s (%d times)", id, n)
	}
	t.Logf("end to end in %s", time.Since(began).Round(100*time.Millisecond))
}

// e2eWorld is a Gitea with the watched repository, and what survives a
// syncer restart: the data directory and the listen address Gitea's
// webhook points at.
type e2eWorld struct {
	t        *testing.T
	gitea    *giteatest.Server
	owner    string
	full     string     // owner/name
	api      *gh.Client // as the owner, a person using Gitea
	botToken string
	dataDir  string
	addr     string // the syncer's host:port, fixed at the first start
	gates    string // a dataset folder, mounted read-only into every run
	gate     string // gates/gate: while it exists, runs wait
}

func newE2EWorld(t *testing.T) *e2eWorld {
	t.Helper()
	w := &e2eWorld{t: t, dataDir: filepath.Join(t.TempDir(), "data")}
	w.gates = t.TempDir()
	w.gate = filepath.Join(w.gates, "gate")

	w.gitea = giteatest.Start(t)
	w.owner = w.gitea.Admin
	w.full = w.gitea.FullName(e2eRepo)
	w.gitea.CreateRepo(t, e2eRepo)
	w.botToken = w.gitea.CreateUser(t, e2eBot)
	w.gitea.AddCollaborator(t, e2eRepo, e2eBot, "admin")
	var err error
	if w.api, err = github.NewClient(w.gitea.APIURL, w.gitea.Token, nil); err != nil {
		t.Fatal(err)
	}

	// The listen address is taken now so that the webhook can name it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.addr = ln.Addr().String()
	ln.Close()
	w.gitea.CreateHook(t, e2eRepo, "http://"+w.addr+"/webhook", e2eHookSecret)
	return w
}

// jobYAML is the job: it prints its launch, waits while the gate exists
// (in a read-only dataset the test controls), prints the secret it got (or
// none), a metric line, and writes an artifact.
func (w *e2eWorld) jobYAML() string {
	return fmt.Sprintf(`apiVersion: gitlaunch.dev/v1
kind: Job
name: %s
image: busybox
command: |
  echo "%s $GITLAUNCH_RUN_ID $GITLAUNCH_SHA $GITLAUNCH_TRIGGER"
  while [ -e /mnt/datasets/gates/gate ]; do sleep 0.1; done
  echo "key=${E2E_TOKEN:-none}"
  mkdir -p out
  echo "model of $GITLAUNCH_SHA" > out/model.txt
  echo "accuracy=$(cat acc.txt)"
secrets: [E2E_TOKEN]
datasets: [{name: gates}]
results:
  artifacts: ["out/*.txt"]
  metrics:
    patterns:
      accuracy: 'accuracy=([0-9.]+)'
`, e2eJob, launchMark)
}

// config is the admin's gitlaunch.yaml for the world: the Gitea
// repository, reported to Gitea through its GitHub-compatible API, and
// the dashboard at the address the webhook names. executor is the
// executor's part ("" for the local one). Trusted runs get E2E_TOKEN: the
// kube executor from the Kubernetes Secret secretName names, the local one
// from secretsFile (here through the secretKeyRef the rendered Pod has;
// TestEngineWithGitHub covers a local config without a secretName).
func (w *e2eWorld) config(executor string) string {
	secrets := writeTemp(w.t, e2eRepo+".env", "E2E_TOKEN="+e2eSecret+"\n")
	return daemontest.Config + executor + fmt.Sprintf(`repos:
- url: %q
  name: %s
  github: %s
  secretName: %s-secrets
  secretsFile: %q
github:
  baseURL: %q
sync:
  listen: %s
  baseURL: http://%s
datasets:
  gates: {localPath: %q, volume: {hostPath: {path: %q}}}
`, w.gitea.CloneURL(e2eRepo), e2eRepo, w.full, e2eRepo, secrets, w.gitea.APIURL, w.addr, w.addr, w.gates, w.gates)
}

// startSyncer starts `gitlaunch sync` with the world's config, the bot's
// token and the webhook secret in its environment (and extra, when given),
// on the world's data directory. Its poll interval is the production one
// with webhooks (5 minutes), so a missed webhook times the test out.
func (w *e2eWorld) startSyncer(executor string, extra map[string]string) *daemontest.Syncer {
	w.t.Helper()
	vars := map[string]string{github.TokenEnv: w.botToken, github.WebhookSecretEnv: e2eHookSecret}
	maps.Copy(vars, extra)
	return daemontest.Open(w.t, w.dataDir, w.config(executor), daemon.Options{Getenv: environ(vars)}).Start()
}

// ---- reading Gitea ----

// ctx bounds one call to Gitea from the test's own goroutine.
func (w *e2eWorld) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	w.t.Cleanup(cancel)
	return ctx
}

// call runs one bounded call to Gitea, for the helpers that poll.
func call[T any](f func(ctx context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return f(ctx)
}

// e2eStatus is a commit status as Gitea serves it: go-github's RepoStatus
// has no field for Gitea's "status", where the state is.
type e2eStatus struct {
	Context     string `json:"context"`
	State       string `json:"state"`
	Status      string `json:"status"`
	Description string `json:"description"`
	TargetURL   string `json:"target_url"`
}

// status is the latest status of the job at sha, through go-github's
// request machinery.
func (w *e2eWorld) status(sha string) (e2eStatus, error) {
	req, err := w.api.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/commits/%s/status", w.full, sha), nil)
	if err != nil {
		return e2eStatus{}, err
	}
	var combined struct {
		Statuses []e2eStatus `json:"statuses"`
	}
	if _, err := call(func(ctx context.Context) (*gh.Response, error) { return w.api.Do(ctx, req, &combined) }); err != nil {
		return e2eStatus{}, err
	}
	for _, st := range combined.Statuses {
		if st.Context == github.StatusContext(e2eJob) {
			if st.State == "" {
				st.State = st.Status
			}
			return st, nil
		}
	}
	return e2eStatus{}, nil
}

func (w *e2eWorld) waitStatus(sha, state string) e2eStatus {
	w.t.Helper()
	var st e2eStatus
	w.waitFor(fmt.Sprintf("status %s %s at %s", github.StatusContext(e2eJob), state, engine.ShortSHA(sha)), func() (bool, string) {
		var err error
		if st, err = w.status(sha); err != nil {
			return false, err.Error()
		}
		return st.State == state, fmt.Sprintf("%q %q", st.State, st.Description)
	})
	return st
}

func (w *e2eWorld) comments(pr int) []*gh.IssueComment {
	cs, err := call(func(ctx context.Context) ([]*gh.IssueComment, error) {
		cs, _, err := w.api.Issues.ListComments(ctx, w.owner, e2eRepo, pr, nil)
		return cs, err
	})
	if err != nil {
		w.t.Fatalf("list comments of #%d: %v", pr, err)
	}
	return cs
}

func (w *e2eWorld) ourComments(pr int) []*gh.IssueComment {
	var out []*gh.IssueComment
	for _, c := range w.comments(pr) {
		if strings.HasPrefix(c.GetBody(), github.CommentMarker) {
			out = append(out, c)
		}
	}
	return out
}

// waitComment waits until the pull request has exactly one gitlaunch
// comment and its body satisfies ok, and returns it.
func (w *e2eWorld) waitComment(pr int, ok func(body string) bool) *gh.IssueComment {
	w.t.Helper()
	var found *gh.IssueComment
	w.waitFor(fmt.Sprintf("the gitlaunch comment on #%d", pr), func() (bool, string) {
		ours := w.ourComments(pr)
		if len(ours) != 1 {
			if len(ours) > 1 {
				w.t.Fatalf("#%d has %d gitlaunch comments", pr, len(ours))
			}
			return false, "no comment"
		}
		found = ours[0]
		return ok(found.GetBody()), found.GetBody()
	})
	return found
}

func (w *e2eWorld) waitReaction(commentID int64, content string) {
	w.t.Helper()
	w.waitFor(fmt.Sprintf("reaction %q on comment %d", content, commentID), func() (bool, string) {
		rs, err := call(func(ctx context.Context) ([]*gh.Reaction, error) {
			rs, _, err := w.api.Reactions.ListIssueCommentReactions(ctx, w.owner, e2eRepo, commentID, nil)
			return rs, err
		})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, r := range rs {
			if r.GetContent() == content && r.GetUser().GetLogin() == e2eBot {
				return true, ""
			}
			seen = append(seen, r.GetUser().GetLogin()+":"+r.GetContent())
		}
		return false, strings.Join(seen, ", ")
	})
}

// checkRunPage fetches a status's target URL from the syncer's server.
func (w *e2eWorld) checkRunPage(target, runID string) {
	w.t.Helper()
	if want := "http://" + w.addr + "/runs/" + runID; target != want {
		w.t.Errorf("status target URL %q, want %q", target, want)
		return
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(target)
	if err != nil {
		w.t.Fatalf("run page: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), runID) {
		w.t.Errorf("run page %s: %s, body mentions the run: %v", target, resp.Status, strings.Contains(string(body), runID))
	}
}

// ---- reading the syncer's store and the jobs' traces ----

func (w *e2eWorld) runs(s *daemontest.Syncer, f engine.RunFilter) []*engine.Run {
	runs, err := s.Store().ListRuns(context.Background(), f)
	if err != nil {
		w.t.Fatalf("list runs: %v", err)
	}
	return runs
}

// runIn returns a run from the syncer's store, nil when it cannot be read.
func (w *e2eWorld) runIn(s *daemontest.Syncer, id string) *engine.Run {
	r, err := s.Store().GetRun(context.Background(), id)
	if err != nil {
		return nil
	}
	return r
}

func (w *e2eWorld) onlyRunAt(s *daemontest.Syncer, sha string) *engine.Run {
	w.t.Helper()
	runs := w.runs(s, engine.RunFilter{SHA: sha})
	if len(runs) != 1 {
		w.t.Fatalf("%d runs at %s, want 1", len(runs), engine.ShortSHA(sha))
	}
	return runs[0]
}

func (w *e2eWorld) runLog(s *daemontest.Syncer, id string) string {
	rc, err := s.Store().OpenLog(context.Background(), id, 0)
	if err != nil {
		w.t.Fatalf("log of %s: %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		w.t.Fatalf("log of %s: %v", id, err)
	}
	return string(b)
}

// launchLines are the lines the jobs appended: run ID, SHA, trigger.
func (w *e2eWorld) launchLines() [][]string {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(w.dataDir, "gitlaunch.db"))
	if err != nil {
		w.t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.ListRuns(ctx, engine.RunFilter{})
	if err != nil {
		w.t.Fatal(err)
	}
	var out [][]string
	for _, r := range runs {
		rc, err := st.OpenLog(ctx, r.ID, 0)
		if err != nil {
			w.t.Fatalf("log of %s: %v", r.ID, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			w.t.Fatalf("log of %s: %v", r.ID, err)
		}
		for line := range strings.Lines(string(data)) {
			if rest, ok := strings.CutPrefix(line, launchMark+" "); ok {
				out = append(out, strings.Fields(rest))
			}
		}
	}
	return out
}

// launchMark starts the line every launch of the job prints.
const launchMark = "gitlaunch-e2e-launched"

// launches counts the launches of each run ID.
func (w *e2eWorld) launches() map[string]int {
	n := map[string]int{}
	for _, f := range w.launchLines() {
		n[f[0]]++
	}
	return n
}

func (w *e2eWorld) launchesOf(sha string) int {
	n := 0
	for _, f := range w.launchLines() {
		if len(f) > 1 && f[1] == sha {
			n++
		}
	}
	return n
}

// waitLaunch waits until a run at sha has started its job and returns the
// run's ID.
func (w *e2eWorld) waitLaunch(sha string) string {
	w.t.Helper()
	id := ""
	w.waitFor("a launch at "+engine.ShortSHA(sha), func() (bool, string) {
		for _, f := range w.launchLines() {
			if len(f) > 1 && f[1] == sha {
				id = f[0]
				return true, ""
			}
		}
		return false, ""
	})
	return id
}

// closeGate makes jobs wait (open=false) or lets them go on (open=true).
func (w *e2eWorld) closeGate(open bool) {
	w.t.Helper()
	var err error
	if open {
		err = os.Remove(w.gate)
	} else {
		err = os.WriteFile(w.gate, nil, 0o644)
	}
	if err != nil {
		w.t.Fatal(err)
	}
}

// waitFor polls cond until it holds; cond's second result describes what
// it saw, for the failure message.
func (w *e2eWorld) waitFor(what string, cond func() (bool, string)) {
	w.t.Helper()
	deadline := time.Now().Add(e2eWait)
	last := ""
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if seen != "" {
			last = seen
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out after %s waiting for %s; last seen:\n%s", e2eWait, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---- a work clone pushing over HTTP with the git CLI ----

type e2eClone struct {
	t   *testing.T
	dir string
	env []string
}

// clone makes a work clone of the repository as the owner.
func (w *e2eWorld) clone() *e2eClone {
	w.t.Helper()
	c := &e2eClone{t: w.t, dir: w.t.TempDir(), env: gittest.Env(w.t.TempDir())}
	c.git("clone", "--quiet", w.gitea.AuthURL(e2eRepo, w.owner, w.gitea.Token), ".")
	return c
}

func (c *e2eClone) git(args ...string) string {
	c.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = c.dir, c.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// commit writes files, commits them on the current branch, pushes it and
// returns the new commit.
func (c *e2eClone) commit(files map[string]string, msg string) string {
	c.t.Helper()
	for name, content := range files {
		p := filepath.Join(c.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			c.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			c.t.Fatal(err)
		}
	}
	c.git("add", "--all")
	c.git("commit", "--quiet", "-m", msg)
	c.git("push", "--quiet", "origin", "HEAD")
	return c.git("rev-parse", "HEAD")
}
