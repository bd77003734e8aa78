package github

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/github/githubtest"
	"github.com/gitlaunch/gitlaunch/sync/store"
	gh "github.com/google/go-github/v60/github"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	fullName = "octo-org/models"
	headSHA  = "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f"
	mainSHA  = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
	secret   = "wandb-s3cr3t-value-42"
	ghToken  = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"
)

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newClient(t testing.TB, s *githubtest.Server) *gh.Client {
	t.Helper()
	c, err := NewClient(s.URL, "test-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "gitlaunch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// repoFixture is a watched repository reported to the fake GitHub.
func repoFixture() *engine.Repo {
	return &engine.Repo{Name: "models", GitHub: fullName, Secrets: map[string]string{"WANDB_API_KEY": secret}}
}

type reporterFixture struct {
	t     *testing.T
	gh    *githubtest.Server
	st    *store.Store
	clock *testClock
	repo  *engine.Repo
	rep   *Reporter
}

func newReporterFixture(t *testing.T) *reporterFixture {
	t.Helper()
	f := &reporterFixture{t: t, gh: githubtest.New(t), st: newStore(t), repo: repoFixture(),
		clock: &testClock{now: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}}
	f.gh.AddRepo(fullName)
	f.gh.SetPR(fullName, githubtest.PullRequest{Number: 7, User: "alice", AuthorAssociation: "COLLABORATOR",
		HeadRef: "bigger-batch", HeadSHA: headSHA, HeadRepo: fullName, BaseRef: "main", BaseSHA: mainSHA})
	f.rep = f.newReporter(ReporterOptions{})
	return f
}

func (f *reporterFixture) newReporter(o ReporterOptions) *Reporter {
	f.t.Helper()
	o.Client = newClient(f.t, f.gh)
	o.Repos = func(name string) (*engine.Repo, bool) {
		if name == f.repo.Name {
			return f.repo, true
		}
		return nil, false
	}
	o.Store = f.st
	if o.BaseURL == "" {
		o.BaseURL = "https://gitlaunch.example.com/"
	}
	o.Secrets = append(o.Secrets, "test-token")
	o.Now = f.clock.Now
	rep, err := NewReporter(o)
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

// run stores a new run of job at sha (a pull request run when pr > 0).
func (f *reporterFixture) run(job string, pr int, sha string, state engine.State) *engine.Run {
	f.t.Helper()
	now := f.clock.Now()
	r := &engine.Run{Repo: "models", JobPath: job + "/job.yaml", JobName: job, SHA: sha, State: state,
		Trigger: engine.TriggerPush, Ref: "refs/heads/main", Branch: "main", CreatedAt: now, UpdatedAt: now, Attempt: 1}
	if pr > 0 {
		r.Trigger, r.Ref, r.PR, r.Base, r.Branch = engine.TriggerPullRequest, "refs/pull/7/head", pr, "main", "bigger-batch"
	}
	r.ID = engine.RunID(r.Repo, r.JobPath, r.SHA, r.Trigger, r.Ref)
	if _, err := f.st.CreateRun(context.Background(), r, []string{"github"}); err != nil {
		f.t.Fatal(err)
	}
	return r
}

// move updates a stored run.
func (f *reporterFixture) move(r *engine.Run, state engine.State, mutate func(*engine.Run)) *engine.Run {
	f.t.Helper()
	now := f.clock.Now()
	r.State, r.UpdatedAt = state, now
	if state == engine.StateRunning && r.StartedAt.IsZero() {
		r.StartedAt = now
	}
	if state.Terminal() {
		r.FinishedAt = now
	}
	if mutate != nil {
		mutate(r)
	}
	if err := f.st.UpdateRun(context.Background(), r, []string{"github"}); err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *reporterFixture) report(r *engine.Run) error {
	return f.rep.Report(context.Background(), r)
}

func (f *reporterFixture) mustReport(r *engine.Run) {
	f.t.Helper()
	if err := f.report(r); err != nil {
		f.t.Fatalf("report %s %s: %v", r.JobName, r.State, err)
	}
}

// ourComments are the comments on #pr that carry the marker.
func (f *reporterFixture) ourComments(pr int) []githubtest.Comment {
	var out []githubtest.Comment
	for _, c := range f.gh.Comments(fullName, pr) {
		if strings.HasPrefix(c.Body, CommentMarker) {
			out = append(out, c)
		}
	}
	return out
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// ---- webhooks ----

func sign(body []byte, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// patch sets fields of a JSON document; keys are dot paths.
func patch(t testing.TB, doc []byte, set map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	for path, v := range set {
		parts := strings.Split(path, ".")
		cur := m
		for _, p := range parts[:len(parts)-1] {
			next, ok := cur[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[p] = next
			}
			cur = next
		}
		cur[parts[len(parts)-1]] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
