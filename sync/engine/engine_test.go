package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/console"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	"github.com/gitlaunch/gitlaunch/sync/local"
	"github.com/gitlaunch/gitlaunch/sync/store"
	"github.com/gitlaunch/gitlaunch/templates"
)

// fakeClock is the engine's clock in tests: cron slots come by moving it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// harness wires the engine to real parts: a git http-backend remote, a
// SQLite store and the local executor.
type harness struct {
	t      testing.TB
	remote *gittest.Remote
	dir    string
	store  *store.Store
	clock  *fakeClock
	out    *syncBuffer
	eng    *engine.Engine
	exec   *local.Executor
	src    *git.Repo
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type checkouter struct{ src *git.Repo }

func (c checkouter) Checkout(ctx context.Context, _, sha, dest string) error {
	return c.src.Checkout(ctx, sha, dest)
}

type harnessOpts struct {
	maxRuns int
	cfg     *schema.Config
	// wrap, when set, stands between the engine and the git source.
	wrap      func(engine.Source) engine.Source
	pollEvery time.Duration
	prs       engine.PRInspector
	github    string // the repository's owner/name on GitHub
	// validate checks manifests against cfg's tables and defaults (an
	// admin's config was given).
	validate bool
	// rendered, when set, sees each job the engine renders a Pod for.
	rendered func(*schema.Job, *engine.Run)
	// secrets are the repository's; hidden the syncer-wide hidden values.
	secrets map[string]string
	hidden  []string
	// storeDir, when set, holds the store instead of dir.
	storeDir string
}

func newHarness(t testing.TB, remote *gittest.Remote, dir string, o harnessOpts) *harness {
	t.Helper()
	ctx := context.Background()
	if dir == "" {
		dir = t.TempDir()
	}
	storeDir := dir
	if o.storeDir != "" {
		storeDir = o.storeDir
	}
	st, err := store.Open(ctx, filepath.Join(storeDir, "gitlaunch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	src, err := git.Open(ctx, git.Options{URL: remote.URL, CacheDir: filepath.Join(dir, "git", "repo")})
	if err != nil {
		t.Fatal(err)
	}
	datasets := map[string]string{}
	if o.cfg != nil {
		for name, d := range o.cfg.Datasets {
			datasets[name] = d.LocalPath
		}
	}
	exec, err := local.New(local.Options{DataDir: dir, Checkout: checkouter{src}, Datasets: datasets,
		KillGrace: time.Second, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Close() })
	cfg := o.cfg
	if cfg == nil {
		cfg, err = schema.LoadConfig("gitlaunch.yaml", []byte("apiVersion: gitlaunch.dev/v1\nkind: Config\n"))
		if err != nil {
			t.Fatal(err)
		}
	}
	base, err := templates.ParsePod(templates.PodYAML)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, remote: remote, dir: dir, store: st, out: &syncBuffer{}, exec: exec, src: src,
		clock: &fakeClock{now: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)}}
	var source engine.Source = src
	if o.wrap != nil {
		source = o.wrap(src)
	}
	var validateWith *schema.Config
	if o.validate {
		validateWith = cfg
	}
	h.eng, err = engine.New(engine.Options{
		Config: cfg, Store: st, Executor: exec, Clock: h.clock, ValidateWith: validateWith,
		Reporters: []engine.Reporter{console.New(h.out)}, MaxRuns: o.maxRuns,
		PollInterval: o.pollEvery, PRs: o.prs, Hidden: o.hidden,
		Repos: []*engine.Repo{{Name: "models", URL: remote.URL, Source: source, GitHub: o.github, Secrets: o.secrets}},
		Render: func(job *schema.Job, r *engine.Run) (*corev1.Pod, error) {
			if o.rendered != nil {
				o.rendered(job, r)
			}
			return render.Pod(job, render.RunContext{RunID: r.ID, Repo: r.Repo, RepoURL: r.RepoURL, SHA: r.SHA, Ref: r.Ref,
				Branch: r.Branch, PR: r.PR, Trigger: string(r.Trigger), Untrusted: r.Untrusted, Attempt: max(r.Attempt, 1)}, cfg, base)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) poll() []*engine.Run {
	h.t.Helper()
	runs, err := h.eng.PollRepo(context.Background(), "models")
	if err != nil {
		h.t.Fatalf("poll: %v", err)
	}
	return runs
}

func (h *harness) wait(runs ...*engine.Run) []*engine.Run {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	out, err := h.eng.WaitIdle(ctx, ids)
	if err != nil {
		h.t.Fatalf("wait: %v", err)
	}
	return out
}

func jobNames(runs []*engine.Run) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.JobName)
	}
	slices.Sort(out)
	return out
}

func job(name, command string, extra string) string {
	return "apiVersion: gitlaunch.dev/v1\nkind: Job\nname: " + name + "\nimage: busybox\ncommand: " + quote(command) + "\n" + extra
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func TestPushRunsExactlyTheMatchingJobs(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{
		"train/job.yaml": job("train", "echo trained > out.txt", "results: {artifacts: [out.txt]}\n"),
		"dev/job.yaml":   job("devonly", "true", "on: {push: {branches: [dev]}}\n"),
		"docs/job.yaml":  job("docs", "true", "on: {push: {}, paths: ['docs/**', 'README.md']}\n"),
		"README.md":      "hi\n",
	}, "first")
	h := newHarness(t, remote, "", harnessOpts{})

	// First sight: branch heads count as pushed.
	runs := h.poll()
	if got := jobNames(runs); !slices.Equal(got, []string{"docs", "train"}) {
		t.Fatalf("first poll planned %v, want [docs train]", got)
	}
	for _, r := range h.wait(runs...) {
		if r.State != engine.StateSucceeded {
			t.Fatalf("%s: %s (%s)", r.JobName, r.State, r.Reason)
		}
		if r.JobName == "train" && (len(r.Artifacts) != 1 || r.Artifacts[0].Path != "out.txt" || r.Artifacts[0].Size != 8) {
			t.Errorf("train artifacts = %+v", r.Artifacts)
		}
	}

	// Nothing changed: nothing planned.
	if runs := h.poll(); len(runs) != 0 {
		t.Fatalf("unchanged poll planned %v", jobNames(runs))
	}

	// A change under train/ runs train only.
	remote.Commit(t, "main", map[string]string{"train/model.py": "print(1)\n"}, "train change")
	runs = h.poll()
	if got := jobNames(runs); !slices.Equal(got, []string{"train"}) {
		t.Fatalf("train change planned %v", got)
	}
	h.wait(runs...)

	// README.md matches docs' paths only.
	remote.Commit(t, "main", map[string]string{"README.md": "more\n"}, "readme")
	if got := jobNames(h.poll()); !slices.Equal(got, []string{"docs"}) {
		t.Fatalf("readme change planned %v", got)
	}

	// A push to dev runs the dev-only job (a new branch: every job counts as changed).
	remote.Commit(t, "dev", map[string]string{"dev/x": "1"}, "dev")
	runs = h.poll()
	if got := jobNames(runs); !slices.Equal(got, []string{"devonly"}) {
		t.Fatalf("dev push planned %v", got)
	}
	if runs[0].Trigger != engine.TriggerPush || runs[0].Branch != "dev" || runs[0].Ref != "refs/heads/dev" {
		t.Errorf("dev run = %+v", runs[0])
	}
	h.wait(runs...)
	if !strings.Contains(h.out.String(), "models/train") || !strings.Contains(h.out.String(), "SUCCEEDED") {
		t.Errorf("console output lacks the runs:\n%s", h.out.String())
	}
}

func TestPullRequestForcePushAndDeletedBranch(t *testing.T) {
	remote := gittest.NewRemote(t)
	base := remote.Commit(t, "main", map[string]string{"a/job.yaml": job("a", "true", "")}, "first")
	h := newHarness(t, remote, "", harnessOpts{})
	h.wait(h.poll()...)

	// A pull request ref (as GitHub publishes it) into main.
	prSHA := remote.Commit(t, "feature", map[string]string{"a/train.py": "x"}, "feature")
	remote.SetRef(t, "refs/pull/7/head", prSHA)
	runs := h.poll()
	var pr *engine.Run
	for _, r := range runs {
		if r.Trigger == engine.TriggerPullRequest {
			pr = r
		}
	}
	if pr == nil || pr.PR != 7 || pr.SHA != prSHA || pr.Base != "main" {
		t.Fatalf("no pull request run for refs/pull/7/head in %+v", runs)
	}
	h.wait(runs...)

	// Force-push main back to a new root: a new commit is planned, nothing breaks.
	forced := remote.ForcePush(t, "main", base, map[string]string{"a/job.yaml": job("a", "echo forced", "")}, "rewrite")
	runs = h.poll()
	if len(runs) != 1 || runs[0].SHA != forced {
		t.Fatalf("force-push planned %+v", runs)
	}
	h.wait(runs...)

	// A deleted branch cancels what still waits there.
	h2 := newHarness(t, remote, "", harnessOpts{maxRuns: 1})
	remote.Commit(t, "main", map[string]string{"a/job.yaml": job("a", "sleep 30", "")}, "slow")
	runs = h2.poll()
	if err := h2.eng.Dispatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	remote.Commit(t, "gone", map[string]string{"b/job.yaml": job("b", "true", "on: {push: {branches: [gone]}}\n")}, "gone")
	queued := h2.poll()
	if len(queued) != 1 || queued[0].State != engine.StateQueued {
		t.Fatalf("gone branch planned %+v", queued)
	}
	if err := h2.eng.Dispatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r, _ := h2.store.GetRun(context.Background(), queued[0].ID); !strings.Contains(r.Reason, "position 1") {
		t.Errorf("queued reason = %q, want a queue position", r.Reason)
	}
	remote.DeleteBranch(t, "gone")
	h2.poll()
	if r, _ := h2.store.GetRun(context.Background(), queued[0].ID); r.State != engine.StateCancelled || !strings.Contains(r.Reason, "deleted") {
		t.Errorf("run on deleted branch: %s (%s)", r.State, r.Reason)
	}
	for _, r := range runs {
		if err := h2.eng.Cancel(context.Background(), r.ID, "test over"); err != nil {
			t.Fatal(err)
		}
	}
	final := h2.wait(runs...)
	if final[0].State != engine.StateCancelled || final[0].Reason != "test over" {
		t.Errorf("cancelled run: %s (%s)", final[0].State, final[0].Reason)
	}
}

func TestInvalidManifestLaunchesNothing(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{
		"bad/job.yaml": "apiVersion: gitlaunch.dev/v1\nkind: Job\nimage: busybox\ncomand: true\n",
	}, "typo")
	h := newHarness(t, remote, "", harnessOpts{})
	runs := h.poll()
	if len(runs) != 1 {
		t.Fatalf("planned %d runs", len(runs))
	}
	r := h.wait(runs...)[0]
	if r.State != engine.StateInvalid || len(r.Problems) == 0 {
		t.Fatalf("run = %s with %d problems", r.State, len(r.Problems))
	}
	var msgs []string
	for _, p := range r.Problems {
		msgs = append(msgs, p.String())
	}
	joined := strings.Join(msgs, "\n")
	if !strings.Contains(joined, "bad/job.yaml:4:1") || !strings.Contains(joined, `did you mean "command"`) {
		t.Errorf("problems lack position or suggestion:\n%s", joined)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "runs", r.ID)); !os.IsNotExist(err) {
		t.Errorf("an invalid run got a run folder: %v", err)
	}
	if !strings.Contains(h.out.String(), "INVALID") {
		t.Errorf("console did not report the invalid run:\n%s", h.out.String())
	}
}

func TestTimeoutAndCancelSuperseded(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{
		"slow/job.yaml": job("slow", "sleep 30", "timeout: 1s\n"),
	}, "slow")
	h := newHarness(t, remote, "", harnessOpts{})
	r := h.wait(h.poll()...)[0]
	if r.State != engine.StateTimedOut {
		t.Fatalf("state = %s (%s), want timed_out", r.State, r.Reason)
	}

	remote.Commit(t, "main", map[string]string{
		"slow/job.yaml": job("slow", "sleep 30", "concurrency: {cancelSuperseded: true}\n"),
	}, "v1")
	first := h.poll()
	if err := h.eng.Dispatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	remote.Commit(t, "main", map[string]string{"slow/x": "2"}, "v2")
	second := h.poll()
	got := h.wait(first...)[0]
	if got.State != engine.StateCancelled || !strings.Contains(got.Reason, "superseded by "+engine.ShortSHA(second[0].SHA)) {
		t.Errorf("older run: %s (%s)", got.State, got.Reason)
	}
	if err := h.eng.Cancel(context.Background(), second[0].ID, "done"); err != nil {
		t.Fatal(err)
	}
	h.wait(second...)
}

func TestRestartMidRunNeverLaunchesTwice(t *testing.T) {
	remote := gittest.NewRemote(t)
	// The job counts its launches in its workspace: the sandbox lets it
	// write nowhere else.
	remote.Commit(t, "main", map[string]string{
		"once/job.yaml": job("once", "echo launched >> launches; sleep 2; echo finished", ""),
	}, "once")
	dir := t.TempDir()
	h1 := newHarness(t, remote, dir, harnessOpts{})
	runs := h1.poll()
	if err := h1.eng.Dispatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The first syncer goes away mid-run; a second one takes over the same
	// data directory.
	h1.exec.Close()
	h1.store.Close()
	h2 := newHarness(t, remote, dir, harnessOpts{})
	if err := h2.eng.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if again := h2.poll(); len(again) != 0 {
		t.Fatalf("restart planned again: %v", jobNames(again))
	}
	r := h2.wait(runs...)[0]
	if r.State != engine.StateSucceeded {
		t.Fatalf("adopted run: %s (%s)", r.State, r.Reason)
	}
	b, err := os.ReadFile(filepath.Join(dir, "runs", r.ID, "workspace", "once", "launches"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "launched"); n != 1 {
		t.Fatalf("job launched %d times", n)
	}
	if tr, _ := h2.store.Transitions(context.Background(), r.ID); len(tr) < 3 {
		t.Errorf("transitions = %+v", tr)
	}
}

func TestCronWithFakeClock(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{
		"nightly/job.yaml": job("nightly", "echo $GITLAUNCH_TRIGGER", `on:
  schedule:
    - {cron: "0 3 * * *", timezone: Asia/Seoul}
`),
	}, "nightly")
	h := newHarness(t, remote, "", harnessOpts{})
	// 2026-11-28 00:00 UTC is 09:00 in Seoul; the next slot is 03:00 KST =
	// 18:00 UTC.
	h.wait(h.poll()...) // first sight: the push run
	schedRuns := func() []*engine.Run {
		rs, err := h.store.ListRuns(context.Background(), engine.RunFilter{Repo: "models"})
		if err != nil {
			t.Fatal(err)
		}
		var out []*engine.Run
		for _, r := range rs {
			if r.Trigger == engine.TriggerSchedule {
				out = append(out, r)
			}
		}
		return out
	}
	h.eng.Cron(context.Background())
	if n := len(schedRuns()); n != 0 {
		t.Fatalf("a new schedule fired %d runs for past slots", n)
	}
	h.clock.Add(17*time.Hour + 59*time.Minute)
	h.eng.Cron(context.Background())
	if n := len(schedRuns()); n != 0 {
		t.Fatalf("fired before the slot: %d", n)
	}
	h.clock.Add(2 * time.Minute) // 18:01 UTC = 03:01 KST
	h.eng.Cron(context.Background())
	runs := schedRuns()
	if len(runs) != 1 || runs[0].TriggerKey != "2026-11-28T18:00:00Z" {
		t.Fatalf("schedule runs = %+v", runs)
	}
	if r := h.wait(runs...)[0]; r.State != engine.StateSucceeded {
		t.Fatalf("scheduled run: %s (%s)", r.State, r.Reason)
	}
	h.eng.Cron(context.Background())
	if n := len(schedRuns()); n != 1 {
		t.Fatalf("the same slot fired twice: %d runs", n)
	}
	// Down for three days: only the latest missed slot may run, and only
	// within the deadline (1h). 3 days + 30 min after a slot: run it once.
	h.clock.Add(3*24*time.Hour + 29*time.Minute)
	h.eng.Cron(context.Background())
	if runs := schedRuns(); len(runs) != 2 || runs[0].TriggerKey != "2026-12-01T18:00:00Z" {
		t.Fatalf("after downtime: %d runs, newest %+v", len(runs), runs[0].TriggerKey)
	}
	h.wait(schedRuns()[0])
	// Missed by more than the deadline: skipped.
	h.clock.Add(24*time.Hour + 2*time.Hour)
	h.eng.Cron(context.Background())
	if n := len(schedRuns()); n != 2 {
		t.Fatalf("a slot older than the deadline ran: %d runs", n)
	}
	// Removing the schedule from the default branch unregisters it.
	remote.Commit(t, "main", map[string]string{"nightly/job.yaml": job("nightly", "true", "")}, "no schedule")
	h.wait(h.poll()...)
	h.clock.Add(24 * time.Hour)
	h.eng.Cron(context.Background())
	if n := len(schedRuns()); n != 2 {
		t.Fatalf("a removed schedule fired: %d runs", n)
	}
}

func TestJobSeesMntLayoutAndResultsPersist(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{
		"exp/job.yaml": job("exp", `ls /mnt/models > listing.txt && pwd > where.txt && echo 42 > result.txt`, "results: {artifacts: ['*.txt']}\n"),
		"exp/data.csv": "1,2\n",
	}, "layout")
	h := newHarness(t, remote, "", harnessOpts{})
	if h.exec.Isolation() == "none" {
		t.Skip("no bwrap and not root: the job cannot see /mnt/<repo> (the fallback is tested in sync/local)")
	}
	r := h.wait(h.poll()...)[0]
	if r.State != engine.StateSucceeded {
		t.Fatalf("%s (%s)", r.State, r.Reason)
	}
	ws := filepath.Join(h.dir, "runs", r.ID, "workspace", "exp")
	for file, want := range map[string]string{"listing.txt": "exp\n", "where.txt": "/mnt/models/exp\n", "result.txt": "42\n"} {
		b, err := os.ReadFile(filepath.Join(ws, file))
		if err != nil {
			t.Fatalf("result did not persist: %v", err)
		}
		if string(b) != want {
			t.Errorf("%s = %q, want %q", file, b, want)
		}
	}
	if len(r.Artifacts) != 3 {
		t.Errorf("artifacts = %+v", r.Artifacts)
	}
}

func TestUnreachableRemoteIsVisibleAndBacksOff(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{"a/job.yaml": job("a", "true", "")}, "first")
	h := newHarness(t, remote, "", harnessOpts{})
	ctx := context.Background()
	dead, err := git.Open(ctx, git.Options{URL: "http://127.0.0.1:1/nothing.git", CacheDir: filepath.Join(h.dir, "git", "dead"), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.eng.AddRepo(&engine.Repo{Name: "dead", URL: "http://127.0.0.1:1/nothing.git", Source: dead}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.PollRepo(ctx, "dead"); err == nil {
		t.Fatal("polling an unreachable remote succeeded")
	}
	if errs := pollErrors(t, h.store); !strings.Contains(errs["dead"], "next try") {
		t.Fatalf("poll errors = %v", errs)
	}
	if h.eng.RepoError("dead") == nil {
		t.Error("RepoError is nil after a failed poll")
	}
	// The healthy repository is unaffected.
	if runs := h.poll(); len(runs) != 1 {
		t.Fatalf("healthy repo planned %d runs", len(runs))
	}
}

// pollErrors is what `gitlaunch runs` warns about: each failing
// repository's stored poll error.
func pollErrors(t *testing.T, st *store.Store) map[string]string {
	t.Helper()
	list, err := st.PollErrors(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, pe := range list {
		out[pe.Repo] = pe.String()
	}
	return out
}

func TestRepoErrorClearsAfterRestart(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{"a/job.yaml": job("a", "true", "")}, "first")
	dir := t.TempDir()
	ctx := context.Background()
	remote.Server.RequireToken("secret-token")
	h1 := newHarness(t, remote, dir, harnessOpts{})
	if _, err := h1.eng.PollRepo(ctx, "models"); err == nil {
		t.Fatal("a poll without the token succeeded")
	}
	if errs := pollErrors(t, h1.store); errs["models"] == "" {
		t.Fatalf("no stored error: %v", errs)
	}
	h1.exec.Close()
	h1.store.Close()

	// The remote recovers while the syncer restarts.
	remote.Server.RequireToken("")
	h2 := newHarness(t, remote, dir, harnessOpts{})
	if h2.eng.RepoError("models") == nil {
		t.Error("a restarted engine forgot the stored poll error")
	}
	h2.wait(h2.poll()...)
	if errs := pollErrors(t, h2.store); len(errs) != 0 {
		t.Errorf("the recovered repository still shows an error: %v", errs)
	}
}

func TestCancelRequestFromAnotherProcess(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{
		"slow/job.yaml": job("slow", "sleep 30", ""),
		"fast/job.yaml": job("fast", "true", ""),
	}, "first")
	h := newHarness(t, remote, "", harnessOpts{})
	ctx := context.Background()
	runs := h.poll()
	if err := h.eng.Dispatch(ctx); err != nil {
		t.Fatal(err)
	}
	var slow, fast *engine.Run
	for _, r := range runs {
		if r.JobName == "slow" {
			slow = r
		} else {
			fast = r
		}
	}
	h.wait(fast)
	// The CLI asks through the store; only the dispatching engine acts.
	for _, r := range []*engine.Run{slow, fast} {
		if err := h.store.RequestCancel(ctx, engine.CancelRequest{RunID: r.ID, Reason: "asked by bob", By: "bob"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.eng.CancelRequested(ctx); err != nil {
		t.Fatal(err)
	}
	got := h.wait(slow, fast)
	if got[0].State != engine.StateCancelled || got[0].Reason != "asked by bob" {
		t.Errorf("slow: %s (%s)", got[0].State, got[0].Reason)
	}
	if got[1].State != engine.StateSucceeded {
		t.Errorf("a request for a finished run changed it: %s", got[1].State)
	}
	if left, err := h.store.TakeCancelRequests(ctx); err != nil || len(left) != 0 {
		t.Errorf("requests not settled: %v, %v", left, err)
	}
}

// countingStore is the real store, counting writes of the engine's state.
type countingStore struct {
	*store.Store
	puts int
}

func (c *countingStore) SavePlannedRefs(ctx context.Context, repo string, refs map[string]string) error {
	c.puts++
	return c.Store.SavePlannedRefs(ctx, repo, refs)
}

func (c *countingStore) PutPollError(ctx context.Context, e engine.PollError) error {
	c.puts++
	return c.Store.PutPollError(ctx, e)
}

func (c *countingStore) DeletePollError(ctx context.Context, repo string) error {
	c.puts++
	return c.Store.DeletePollError(ctx, repo)
}

func (c *countingStore) PutCronSlot(ctx context.Context, k engine.CronKey, last time.Time) error {
	c.puts++
	return c.Store.PutCronSlot(ctx, k, last)
}

func TestUnchangedPollTouchesNoState(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{"a/job.yaml": job("a", "true", "")}, "first")
	h := newHarness(t, remote, "", harnessOpts{})
	cs := &countingStore{Store: h.store}
	eng, err := engine.New(engine.Options{Store: cs, Executor: h.exec, Clock: h.clock,
		Render: func(*schema.Job, *engine.Run) (*corev1.Pod, error) { return nil, nil },
		Repos:  []*engine.Repo{{Name: "models", URL: remote.URL, Source: h.src}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := eng.PollRepo(ctx, "models"); err != nil {
		t.Fatal(err)
	}
	if cs.puts == 0 {
		t.Fatal("the first poll stored no refs")
	}
	before := cs.puts
	for range 3 {
		if _, err := eng.PollRepo(ctx, "models"); err != nil {
			t.Fatal(err)
		}
	}
	if cs.puts != before {
		t.Errorf("unchanged polls wrote state %d times", cs.puts-before)
	}
	remote.Commit(t, "main", map[string]string{"a/x": "1"}, "change")
	if _, err := eng.PollRepo(ctx, "models"); err != nil {
		t.Fatal(err)
	}
	if cs.puts == before {
		t.Error("a changed ref was not stored")
	}
}

// TestJobParsedOnceWithTheAdminsConfig: a job may leave out image when the
// admin's config has a default one. The run launches with the job parsed
// at planning, and after a restart with the stored manifest parsed under
// the same config: never with a config-less parse that refuses it.
func TestJobParsedOnceWithTheAdminsConfig(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{
		"a/job.yaml": "apiVersion: gitlaunch.dev/v1\nkind: Job\nname: a\ncommand: 'true'\n",
	}, "no image")
	cfg, err := schema.LoadConfig("gitlaunch.yaml", []byte("apiVersion: gitlaunch.dev/v1\nkind: Config\ndefaults: {image: busybox}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	launched := map[string]*schema.Job{}
	h := newHarness(t, remote, "", harnessOpts{cfg: cfg, validate: true, rendered: func(j *schema.Job, r *engine.Run) {
		mu.Lock()
		launched[r.ID] = j
		mu.Unlock()
	}})
	runs := h.poll()
	kept := engine.KeptJob(h.eng, runs[0].ID)
	if kept == nil || kept.Name != "a" {
		t.Fatalf("planning kept %+v, want the parsed job", kept)
	}
	if r := h.wait(runs...)[0]; r.State != engine.StateSucceeded {
		t.Fatalf("run planned here: %s (%s)", r.State, r.Reason)
	}
	mu.Lock()
	if launched[runs[0].ID] != kept {
		t.Error("the launch parsed the manifest again instead of using the job parsed at planning")
	}
	mu.Unlock()
	if j := engine.KeptJob(h.eng, runs[0].ID); j != nil {
		t.Error("the job of a finished run is still kept")
	}

	// Planned by one process, launched by the next.
	dir := t.TempDir()
	h1 := newHarness(t, remote, dir, harnessOpts{cfg: cfg, validate: true, maxRuns: 1})
	remote.Commit(t, "main", map[string]string{"a/x": "1"}, "change")
	runs = h1.poll()
	if len(runs) != 1 || runs[0].State != engine.StateQueued {
		t.Fatalf("planned %+v", runs)
	}
	h1.exec.Close()
	h1.store.Close()
	h2 := newHarness(t, remote, dir, harnessOpts{cfg: cfg, validate: true})
	if r := h2.wait(runs...)[0]; r.State != engine.StateSucceeded {
		t.Fatalf("run planned before a restart: %s (%s)", r.State, r.Reason)
	}
}

// TestRetryUsesTheKeptJob: a run whose process is killed from outside (an
// infrastructure failure: no exit status) is retried as its job's retries
// allow, and every attempt renders the job parsed at planning.
func TestRetryUsesTheKeptJob(t *testing.T) {
	remote := gittest.NewRemote(t)
	// The sandbox shows a job nothing of the host's /tmp and lets it write
	// only its own workspace (new for each attempt): the test lets the
	// second attempt through by a marker in a dataset, mounted read-only.
	flags := t.TempDir()
	marker := filepath.Join(flags, "first-attempt-killed")
	cfg, err := schema.LoadConfig("gitlaunch.yaml", []byte("apiVersion: gitlaunch.dev/v1\nkind: Config\n"+
		"datasets: {flags: {localPath: "+flags+", volume: {hostPath: {path: "+flags+"}}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	remote.Commit(t, "main", map[string]string{
		"flaky/job.yaml": job("flaky", "if [ ! -e /mnt/datasets/flags/first-attempt-killed ]; then sleep 60; fi; echo ok",
			"retries: 1\ndatasets: [{name: flags}]\n"),
	}, "flaky")
	var mu sync.Mutex
	var rendered []*schema.Job
	h := newHarness(t, remote, "", harnessOpts{cfg: cfg, rendered: func(j *schema.Job, _ *engine.Run) {
		mu.Lock()
		rendered = append(rendered, j)
		mu.Unlock()
	}})
	ctx := context.Background()
	runs := h.poll()
	kept := engine.KeptJob(h.eng, runs[0].ID)
	if err := h.eng.Dispatch(ctx); err != nil {
		t.Fatal(err)
	}
	// Once the first attempt runs, kill its wrapper, which would have
	// recorded the exit status.
	deadline := time.Now().Add(30 * time.Second)
	var pid int
	for pid == 0 && time.Now().Before(deadline) {
		b, _ := os.ReadFile(filepath.Join(h.dir, "runs", runs[0].ID, "pid"))
		fmt.Sscanf(string(b), "pid=%d", &pid)
		time.Sleep(20 * time.Millisecond)
	}
	if pid == 0 {
		t.Fatal("the first attempt did not start")
	}
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := h.wait(runs...)[0]
	if r.State != engine.StateSucceeded || r.Attempt != 2 {
		t.Fatalf("run: %s after %d attempts (%s), want succeeded after 2", r.State, r.Attempt, r.Reason)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(rendered) != 2 || rendered[0] != kept || rendered[1] != kept {
		t.Errorf("attempts rendered %d jobs; want the planned job twice", len(rendered))
	}
}
