package git_test

import (
	"context"
	"errors"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/git"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
)

func TestPollNewRepoReturnsAllRefs(t *testing.T) {
	rem := gittest.NewRemote(t)
	c1 := rem.Commit(t, "main", map[string]string{"a/job.yaml": "name: a\n"}, "one")
	c2 := rem.Commit(t, "feature", map[string]string{"b.txt": "b"}, "two")
	rem.SetRef(t, "refs/pull/7/head", c2)
	rem.SetRef(t, "refs/pull/7/merge", c1) // not tracked
	rem.Git(t, "tag", "v1", c1)            // not tracked

	r := open(t, rem.URL)
	snap, err := r.Poll(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"refs/heads/main": c1, "refs/heads/feature": c2, "refs/pull/7/head": c2}
	if !maps.Equal(snap.Refs, want) || snap.Head != "main" {
		t.Fatalf("snapshot = %v %v, want main %v", snap.Head, snap.Refs, want)
	}
	got := rem.Requests()
	if got.InfoRefs != 1 || got.UploadPack != 1 {
		t.Fatalf("requests = %+v, want 1 advertisement and 1 fetch", got)
	}
	// Every commit in the snapshot can be read.
	for ref, sha := range snap.Refs {
		if _, err := r.Manifests(ctx(t), sha); err != nil {
			t.Errorf("Manifests(%s): %v", ref, err)
		}
	}
}

func TestPollUnchangedMakesOneRequest(t *testing.T) {
	rem := gittest.NewRemote(t)
	rem.Commit(t, "main", map[string]string{"f": "1"}, "one")
	r := open(t, rem.URL)
	first, err := r.Poll(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	rem.Server.ResetCounts()
	for range 3 {
		snap, err := r.Poll(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(snap.Refs, first.Refs) || snap.Head != first.Head {
			t.Fatalf("unchanged poll = %+v, want %+v", snap, first)
		}
	}
	if got := rem.Requests(); got.InfoRefs != 3 || got.UploadPack != 0 {
		t.Fatalf("3 unchanged polls made %+v, want 3 advertisements and no fetch", got)
	}
}

func TestPollFetchesOnlyChangedRefs(t *testing.T) {
	rem := gittest.NewRemote(t)
	rem.Commit(t, "main", map[string]string{"f": "1"}, "one")
	rem.Commit(t, "a", map[string]string{"a": "1"}, "a1")
	rem.Commit(t, "b", map[string]string{"b": "1"}, "b1")
	r := open(t, rem.URL)
	if _, err := r.Poll(ctx(t)); err != nil {
		t.Fatal(err)
	}
	rem.Server.ResetCounts()
	a2 := rem.Commit(t, "a", map[string]string{"a": "2"}, "a2")

	snap, err := r.Poll(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if snap.Refs["refs/heads/a"] != a2 {
		t.Fatalf("a = %s, want %s", snap.Refs["refs/heads/a"], a2)
	}
	got := rem.Requests()
	if got.InfoRefs != 1 || got.UploadPack != 1 || !slices.Equal(got.Wants, []string{a2}) {
		t.Fatalf("requests = %+v, want one advertisement and one fetch that wants only %s", got, a2)
	}
}

func TestPollNewRefAtKnownCommitFetchesNothing(t *testing.T) {
	rem := gittest.NewRemote(t)
	c1 := rem.Commit(t, "main", map[string]string{"f": "1"}, "one")
	r := open(t, rem.URL)
	if _, err := r.Poll(ctx(t)); err != nil {
		t.Fatal(err)
	}
	rem.Server.ResetCounts()
	rem.SetRef(t, "refs/heads/copy", c1)
	rem.SetRef(t, "refs/pull/3/head", c1)
	snap, err := r.Poll(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if snap.Refs["refs/heads/copy"] != c1 || snap.Refs["refs/pull/3/head"] != c1 {
		t.Fatalf("refs = %v", snap.Refs)
	}
	if got := rem.Requests(); got.UploadPack != 0 {
		t.Fatalf("requests = %+v, want no fetch", got)
	}
}

func TestPollForcePush(t *testing.T) {
	rem := gittest.NewRemote(t)
	c1 := rem.Commit(t, "main", map[string]string{"f": "1", "keep": "k"}, "one")
	c2 := rem.Commit(t, "main", map[string]string{"f": "2"}, "two")
	r := open(t, rem.URL)
	if _, err := r.Poll(ctx(t)); err != nil {
		t.Fatal(err)
	}
	c3 := rem.ForcePush(t, "main", c1, map[string]string{"g": "3"}, "rewritten")
	snap, err := r.Poll(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if snap.Refs["refs/heads/main"] != c3 {
		t.Fatalf("main = %s, want %s", snap.Refs["refs/heads/main"], c3)
	}
	// The old tip stays in the cache, so the planner can still diff.
	paths, err := r.ChangedPaths(ctx(t), c2, c3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"f", "g"}; !slices.Equal(paths, want) {
		t.Fatalf("ChangedPaths = %v, want %v", paths, want)
	}
}

func TestPollDeletedBranchDisappears(t *testing.T) {
	rem := gittest.NewRemote(t)
	rem.Commit(t, "main", map[string]string{"f": "1"}, "one")
	rem.Commit(t, "gone", map[string]string{"g": "1"}, "two")
	cache := t.TempDir()
	r := open(t, rem.URL, func(o *git.Options) { o.CacheDir = cache })
	if snap, err := r.Poll(ctx(t)); err != nil || len(snap.Refs) != 2 {
		t.Fatalf("first poll: %v %v", snap.Refs, err)
	}
	rem.DeleteBranch(t, "gone")
	snap, err := r.Poll(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Refs["refs/heads/gone"]; ok || len(snap.Refs) != 1 {
		t.Fatalf("refs after delete = %v", snap.Refs)
	}
	// Gone from the cache on disk too.
	out, err := exec.Command("git", "--git-dir", cache, "for-each-ref", "--format=%(refname)").CombinedOutput()
	if err != nil {
		t.Fatalf("for-each-ref: %v %s", err, out)
	}
	if strings.Contains(string(out), "gone") {
		t.Fatalf("cache still has the deleted branch:\n%s", out)
	}
}

func TestPollPullRequestRefs(t *testing.T) {
	rem := gittest.NewRemote(t)
	rem.Commit(t, "main", map[string]string{"f": "1"}, "one")
	pr := rem.Commit(t, "topic", map[string]string{"f": "2"}, "pr")
	rem.DeleteBranch(t, "topic") // a fork's branch: only the PR ref remains
	rem.SetRef(t, "refs/pull/12/head", pr)
	rem.SetRef(t, "refs/pull/12/merge", pr)
	rem.SetRef(t, "refs/pull/x/head", pr) // not a PR number
	r := open(t, rem.URL)
	snap, err := r.Poll(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if snap.Refs["refs/pull/12/head"] != pr || len(snap.Refs) != 2 {
		t.Fatalf("refs = %v", snap.Refs)
	}
	if _, err := r.Manifests(ctx(t), pr); err != nil {
		t.Fatalf("PR commit not readable: %v", err)
	}
	rem.DeleteRef(t, "refs/pull/12/head")
	snap, err = r.Poll(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Refs) != 1 {
		t.Fatalf("refs after closing the PR = %v", snap.Refs)
	}
}

func TestPollHead(t *testing.T) {
	rem := gittest.NewRemote(t)
	rem.Commit(t, "main", map[string]string{"f": "1"}, "one")
	rem.Commit(t, "trunk", map[string]string{"f": "2"}, "two")
	r := open(t, rem.URL)
	if snap, err := r.Poll(ctx(t)); err != nil || snap.Head != "main" {
		t.Fatalf("head = %q, %v; want main", snap.Head, err)
	}
	rem.SetHead(t, "trunk")
	rem.Server.ResetCounts()
	if snap, err := r.Poll(ctx(t)); err != nil || snap.Head != "trunk" {
		t.Fatalf("head = %q, %v; want trunk", snap.Head, err)
	}
	if got := rem.Requests(); got.UploadPack != 0 {
		t.Fatalf("a new default branch fetched: %+v", got)
	}
}

func TestPollEmptyRemote(t *testing.T) {
	rem := gittest.NewRemote(t)
	r := open(t, rem.URL)
	snap, err := r.Poll(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Refs) != 0 || snap.Head != "main" {
		t.Fatalf("empty remote = %+v", snap)
	}
	c := rem.Commit(t, "main", map[string]string{"f": "1"}, "first")
	snap, err = r.Poll(ctx(t))
	if err != nil || snap.Refs["refs/heads/main"] != c {
		t.Fatalf("after first push = %+v, %v", snap, err)
	}
}

func TestPollReopenedCacheDoesNotRefetch(t *testing.T) {
	rem := gittest.NewRemote(t)
	rem.Commit(t, "main", map[string]string{"f": "1"}, "one")
	cache := t.TempDir()
	opt := func(o *git.Options) { o.CacheDir = cache }
	r1 := open(t, rem.URL, opt)
	want, err := r1.Poll(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	r1.Close()
	rem.Server.ResetCounts()
	r2 := open(t, rem.URL, opt)
	got, err := r2.Poll(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got.Refs, want.Refs) || got.Head != want.Head {
		t.Fatalf("reopened = %+v, want %+v", got, want)
	}
	if c := rem.Requests(); c.UploadPack != 0 {
		t.Fatalf("reopened cache fetched again: %+v", c)
	}
	// A cache belongs to one repository.
	other := gittest.NewRemote(t)
	_, err = git.Open(ctx(t), git.Options{URL: other.URL, CacheDir: cache})
	if err == nil || !strings.Contains(err.Error(), "another repository") {
		t.Fatalf("opening a cache for another URL: %v", err)
	}
}

func TestPollLocalRemotes(t *testing.T) {
	rem := gittest.NewRemote(t)
	c1 := rem.Commit(t, "main", map[string]string{"x/job.yaml": "name: x\n"}, "one")
	for name, url := range map[string]string{"path": rem.Path, "file": rem.FileURL()} {
		t.Run(name, func(t *testing.T) {
			r := open(t, url)
			snap, err := r.Poll(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if snap.Refs["refs/heads/main"] != c1 || snap.Head != "main" {
				t.Fatalf("snapshot = %+v", snap)
			}
			ms, err := r.Manifests(ctx(t), c1)
			if err != nil || len(ms) != 1 || string(ms[0].Data) != "name: x\n" {
				t.Fatalf("Manifests = %+v, %v", ms, err)
			}
		})
	}
	// A missing local repository is "not found", not "unreachable".
	r := open(t, rem.Path+"-missing")
	_, err := r.Poll(ctx(t))
	var re *git.RemoteError
	if !errors.As(err, &re) || re.Kind != git.KindNotFound || re.Temporary() {
		t.Fatalf("missing local repository: %#v (%v)", re, err)
	}
}

func TestPollUnreachableRemote(t *testing.T) {
	start := time.Now()
	r := open(t, gittest.DeadURL(t), func(o *git.Options) { o.Timeout = 2 * time.Second })
	_, err := r.Poll(ctx(t))
	var re *git.RemoteError
	if !errors.As(err, &re) || re.Kind != git.KindUnreachable || !re.Temporary() {
		t.Fatalf("dead remote: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("dead remote took %v", d)
	}
}

func TestPollStoppedServer(t *testing.T) {
	rem := gittest.NewRemote(t)
	rem.Commit(t, "main", map[string]string{"f": "1"}, "one")
	r := open(t, rem.URL)
	if _, err := r.Poll(ctx(t)); err != nil {
		t.Fatal(err)
	}
	rem.Server.Close()
	_, err := r.Poll(ctx(t))
	var re *git.RemoteError
	if !errors.As(err, &re) || !re.Temporary() {
		t.Fatalf("stopped server: %v", err)
	}
}

func TestPollSlowRemoteTimesOut(t *testing.T) {
	rem := gittest.NewRemote(t)
	rem.Commit(t, "main", map[string]string{"f": "1"}, "one")
	rem.Server.SetDelay(10 * time.Second)
	r := open(t, rem.URL, func(o *git.Options) { o.Timeout = 300 * time.Millisecond })
	start := time.Now()
	_, err := r.Poll(ctx(t))
	var re *git.RemoteError
	if !errors.As(err, &re) || re.Kind != git.KindTimeout || !re.Temporary() {
		t.Fatalf("slow remote: %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout does not wrap context.DeadlineExceeded: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("timeout took %v", d)
	}
}

func TestPollCredentialsNeverLeak(t *testing.T) {
	rem := gittest.NewRemote(t)
	rem.Commit(t, "main", map[string]string{"f": "1"}, "one")
	rem.Server.RequireToken("right-token-1234")

	const badToken = "wrong-token-s3cr3t"
	r := open(t, rem.URL, func(o *git.Options) { o.Auth.Token = badToken })
	_, err := r.Poll(ctx(t))
	var re *git.RemoteError
	if !errors.As(err, &re) || re.Kind != git.KindAuth || re.Temporary() {
		t.Fatalf("bad token: %v", err)
	}
	if strings.Contains(err.Error(), badToken) {
		t.Fatalf("error leaks the token: %v", err)
	}

	// Credentials written into the URL are scrubbed as well.
	withUser := strings.Replace(rem.URL, "http://", "http://x-access-token:pw-in-url-9876@", 1)
	r2 := open(t, withUser)
	_, err = r2.Poll(ctx(t))
	if err == nil || strings.Contains(err.Error(), "pw-in-url-9876") {
		t.Fatalf("URL password: %v", err)
	}

	good := open(t, rem.URL, func(o *git.Options) { o.Auth.Token = "right-token-1234" })
	if _, err := good.Poll(ctx(t)); err != nil {
		t.Fatalf("right token: %v", err)
	}
	if strings.Contains(good.URL(), "right-token") {
		t.Fatalf("URL() leaks: %s", good.URL())
	}
}

func TestPollMissingRepository(t *testing.T) {
	rem := gittest.NewRemote(t)
	r := open(t, rem.Server.URL+"/nope.git")
	_, err := r.Poll(ctx(t))
	var re *git.RemoteError
	if !errors.As(err, &re) || re.Kind != git.KindNotFound || re.Temporary() {
		t.Fatalf("missing repository: %v", err)
	}
	if !strings.Contains(err.Error(), "repository not found") {
		t.Fatalf("message: %v", err)
	}
}
