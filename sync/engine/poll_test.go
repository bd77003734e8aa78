package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
)

// countingSource is the real git source, counting polls and running
// during inside each one, before the remote is asked.
type countingSource struct {
	engine.Source
	mu     sync.Mutex
	polls  int
	during func()
}

func (c *countingSource) Poll(ctx context.Context) (engine.RefSnapshot, error) {
	c.mu.Lock()
	c.polls++
	during := c.during
	c.mu.Unlock()
	if during != nil {
		during()
	}
	return c.Source.Poll(ctx)
}

func (c *countingSource) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.polls }

func (c *countingSource) setDuring(f func()) { c.mu.Lock(); c.during = f; c.mu.Unlock() }

// storedPollError is the repository's poll error as the store keeps it.
func storedPollError(t *testing.T, h *harness) (engine.PollError, bool) {
	t.Helper()
	list, err := h.store.PollErrors(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, pe := range list {
		if pe.Repo == "models" {
			return pe, true
		}
	}
	return engine.PollError{}, false
}

// TestPollOutcome follows what polls record for a repository: a remote
// that fails is retried with backoff and its error is kept (in memory and
// in the store) since its first failure; a remote that answers is polled
// again after the interval and its error is cleared.
func TestPollOutcome(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{"a/job.yaml": job("a", "true", "")}, "first")
	const every = time.Minute
	var src *countingSource
	h := newHarness(t, remote, "", harnessOpts{pollEvery: every, wrap: func(s engine.Source) engine.Source {
		src = &countingSource{Source: s}
		return src
	}})
	ctx := context.Background()
	// step runs one engine step and says whether it polled.
	step := func() bool {
		before := src.count()
		h.eng.Step(ctx)
		return src.count() > before
	}

	remote.Server.RequireToken("secret-token")
	start := h.clock.Now()
	if !step() {
		t.Fatal("the first step did not poll")
	}
	err := h.eng.RepoError("models")
	if err == nil {
		t.Fatal("RepoError is nil after a failed poll")
	}
	pe, ok := storedPollError(t, h)
	if !ok || !pe.Since.Equal(start) || pe.Err != err.Error() {
		t.Fatalf("stored poll error = %+v, %v; want the error since %v", pe, ok, start)
	}
	// The first retry is due within one interval (backoff with jitter).
	if pe.NextTry.Before(start.Add(every/2)) || pe.NextTry.After(start.Add(every)) {
		t.Errorf("first retry at %v, want within [%v, %v]", pe.NextTry, start.Add(every/2), start.Add(every))
	}
	if step() {
		t.Error("a failed remote was polled again at once")
	}
	h.clock.Add(every)
	if !step() {
		t.Fatal("no retry after the backoff")
	}
	second, ok := storedPollError(t, h)
	if !ok || !second.Since.Equal(start) {
		t.Errorf("after a second failure: %+v, %v; want it failing since %v", second, ok, start)
	}
	if now := h.clock.Now(); second.NextTry.Before(now.Add(every)) || second.NextTry.After(now.Add(2*every)) {
		t.Errorf("second retry at %v, want within [%v, %v] (doubled)", second.NextTry, now.Add(every), now.Add(2*every))
	}

	remote.Server.RequireToken("")
	h.clock.Add(2 * every)
	if !step() {
		t.Fatal("no retry after the second backoff")
	}
	if err := h.eng.RepoError("models"); err != nil {
		t.Errorf("RepoError after a good poll = %v", err)
	}
	if pe, ok := storedPollError(t, h); ok {
		t.Errorf("the stored error outlived a good poll: %+v", pe)
	}
	h.clock.Add(every - time.Second)
	if step() {
		t.Error("a healthy remote was polled before the interval")
	}
	h.clock.Add(time.Second)
	if !step() {
		t.Error("a healthy remote was not polled after the interval")
	}

	// A webhook that asks for a poll while one runs gets another at once:
	// the running fetch may have missed its commit.
	h.clock.Add(every)
	src.setDuring(func() { h.eng.PollNow("models") })
	if !step() {
		t.Fatal("no poll after the interval")
	}
	src.setDuring(nil)
	if !step() {
		t.Error("a PollNow during a poll did not ask for another")
	}
	if step() {
		t.Error("the extra poll was repeated")
	}
	// Asked before the poll: that poll answers it.
	h.clock.Add(every)
	h.eng.PollNow("models")
	if !step() || step() {
		t.Error("a PollNow before a poll asked for a second one")
	}
}

// flakyInspector fails for pull requests until told otherwise.
type flakyInspector struct {
	mu   sync.Mutex
	fail bool
}

func (f *flakyInspector) InspectPR(_ context.Context, _ *engine.Repo, _ int, _ string) (engine.PRInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return engine.PRInfo{}, errors.New("forge unavailable")
	}
	return engine.PRInfo{Base: "main", Branch: "feature", Trusted: true, Open: true}, nil
}

// TestPollProblemIsNotARemoteFailure: a problem after the remote answered
// (here a pull request that cannot be inspected) is returned, but the
// repository is healthy (no backoff, no poll error) and the ref is planned
// for again at the next poll.
func TestPollProblemIsNotARemoteFailure(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{"a/job.yaml": job("a", "true", "")}, "first")
	prs := &flakyInspector{fail: true}
	h := newHarness(t, remote, "", harnessOpts{prs: prs, github: "acme/models"})
	ctx := context.Background()
	h.wait(h.poll()...)

	prSHA := remote.Commit(t, "feature", map[string]string{"a/x": "1"}, "feature")
	remote.SetRef(t, "refs/pull/3/head", prSHA)
	runs, err := h.eng.PollRepo(ctx, "models")
	if err == nil || !strings.Contains(err.Error(), "pull request #3") || !strings.Contains(err.Error(), "forge unavailable") {
		t.Fatalf("poll error = %v, want the pull request's", err)
	}
	for _, r := range runs {
		if r.PR == 3 {
			t.Fatalf("planned a run for an uninspected pull request: %+v", r)
		}
	}
	if err := h.eng.RepoError("models"); err != nil {
		t.Errorf("RepoError = %v; the remote answered", err)
	}
	if pe, ok := storedPollError(t, h); ok {
		t.Errorf("stored a poll error for a healthy remote: %+v", pe)
	}

	prs.mu.Lock()
	prs.fail = false
	prs.mu.Unlock()
	runs, err = h.eng.PollRepo(ctx, "models")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].PR != 3 || runs[0].SHA != prSHA {
		t.Fatalf("the pull request was not planned once it could be inspected: %+v", runs)
	}
	h.wait(runs...)
}

// TestFirstPollUsesTheRemotesDefaultBranch: on first sight of a repository
// whose default branch is not main, its jobs run (their default trigger is
// a push to the default branch).
func TestFirstPollUsesTheRemotesDefaultBranch(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.Commit(t, "master", map[string]string{"a/job.yaml": job("a", "true", "")}, "first")
	remote.SetHead(t, "master")
	h := newHarness(t, remote, "", harnessOpts{})
	runs := h.poll()
	if len(runs) != 1 || runs[0].Branch != "master" {
		t.Fatalf("first poll planned %+v, want the job on master", runs)
	}
	if r := h.wait(runs...)[0]; r.State != engine.StateSucceeded {
		t.Errorf("run: %s (%s)", r.State, r.Reason)
	}
}

// TestPollWarnsOfHostileRefs: a remote advertising a ref gitlaunch cannot
// follow (issue 9 finding 9) is still polled and planned; the skipped ref
// is a warning, kept in the store (for `gitlaunch runs`) until it goes.
func TestPollWarnsOfHostileRefs(t *testing.T) {
	remote := gittest.NewRemote(t)
	sha := remote.Commit(t, "main", map[string]string{"a/job.yaml": job("a", "true", "")}, "first")
	remote.AddPackedRef(t, "refs/heads/\x1b]52;c;cHduZWQ=\x07", sha) // OSC 52: writes the clipboard
	remote.AddPackedRef(t, "refs/heads/main/x", sha)
	h := newHarness(t, remote, "", harnessOpts{})
	runs := h.poll()
	if len(runs) != 1 || runs[0].Ref != "refs/heads/main" {
		t.Fatalf("planned %+v", runs)
	}
	if err := h.eng.RepoError("models"); err != nil {
		t.Errorf("RepoError = %v", err)
	}
	w := h.eng.RepoWarning("models")
	pe, ok := storedPollError(t, h)
	if !ok || !pe.Warning() || !strings.Contains(pe.Err, w) || !strings.Contains(w, `"refs/heads/\x1b]52;c;cHduZWQ=\a" skipped`) ||
		!strings.Contains(w, `"refs/heads/main/x" skipped`) || strings.Contains(pe.Err, "\x1b") {
		t.Fatalf("warning %q, stored %+v", w, pe)
	}
	// Unchanged: nothing new to store, still warned.
	h.poll()
	if h.eng.RepoWarning("models") != w {
		t.Errorf("warning changed: %q", h.eng.RepoWarning("models"))
	}
	// The bad refs go away: so does the warning, in memory and in the store.
	remote.Git(t, "pack-refs", "--all")
	packed := filepath.Join(remote.Path, "packed-refs")
	b, err := os.ReadFile(packed)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if !strings.Contains(line, "\x1b") && !strings.Contains(line, "main/x") {
			keep = append(keep, line)
		}
	}
	if err := os.WriteFile(packed, []byte(strings.Join(keep, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	h.poll()
	if w := h.eng.RepoWarning("models"); w != "" {
		t.Errorf("warning after the fix: %q", w)
	}
	if pe, ok := storedPollError(t, h); ok {
		t.Errorf("stored after the fix: %+v", pe)
	}
}
