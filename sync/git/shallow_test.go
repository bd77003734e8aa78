package git_test

import (
	"errors"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func shallowRemote(t *testing.T) (*gittest.Remote, []string) {
	rem := gittest.NewRemote(t)
	var shas []string
	for i, f := range []string{"a/job.yaml", "b/job.yaml", "c/job.yaml"} {
		shas = append(shas, rem.Commit(t, "main", map[string]string{f: "v"}, "c"+string(rune('1'+i))))
	}
	return rem, shas
}

func commitCount(t *testing.T, cache, ref string) string {
	t.Helper()
	out, err := exec.Command("git", "--git-dir", cache, "rev-list", "--count", ref).CombinedOutput()
	if err != nil {
		t.Fatalf("rev-list: %v %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestShallowPollFetchesDepthOne(t *testing.T) {
	rem, c := shallowRemote(t)
	cache := t.TempDir()
	r := open(t, rem.URL, func(o *git.Options) { o.Shallow = true; o.CacheDir = cache })
	if _, err := r.Poll(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if n := commitCount(t, cache, "main"); n != "1" {
		t.Fatalf("shallow cache holds %s commits of main, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(cache, "shallow")); err != nil {
		t.Fatalf("no shallow file: %v", err)
	}
	if ms, err := r.Manifests(ctx(t), c[2]); err != nil || len(ms) != 3 {
		t.Fatalf("Manifests at the tip = %v, %v", ms, err)
	}

	c4 := rem.Commit(t, "main", map[string]string{"d/job.yaml": "v"}, "c4")
	if _, err := r.Poll(ctx(t)); err != nil {
		t.Fatal(err)
	}
	got, err := r.ChangedPaths(ctx(t), c[2], c4)
	if err != nil || !slices.Equal(got, []string{"d/job.yaml"}) {
		t.Fatalf("ChangedPaths(tip, new tip) = %v, %v", got, err)
	}

	// c1 was never fetched and this server refuses ids it did not
	// advertise: the planner is told the history is unavailable.
	_, err = r.ChangedPaths(ctx(t), c[0], c4)
	if !errors.Is(err, git.ErrHistoryUnavailable) {
		t.Fatalf("ChangedPaths(missing base) = %v, want ErrHistoryUnavailable", err)
	}
	if _, err := r.Manifests(ctx(t), c[0]); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("Manifests(missing) = %v, want ErrNotFound", err)
	}
}

func TestShallowFetchesMissingBaseByID(t *testing.T) {
	rem, c := shallowRemote(t)
	rem.Git(t, "config", "uploadpack.allowReachableSHA1InWant", "true")
	cache := t.TempDir()
	r := open(t, rem.URL, func(o *git.Options) { o.Shallow = true; o.CacheDir = cache })
	if _, err := r.Poll(ctx(t)); err != nil {
		t.Fatal(err)
	}
	rem.Server.ResetCounts()
	got, err := r.ChangedPaths(ctx(t), c[0], c[2])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"b/job.yaml", "c/job.yaml"}; !slices.Equal(got, want) {
		t.Fatalf("ChangedPaths = %v, want %v", got, want)
	}
	if n := rem.Requests(); n.UploadPack != 1 || !slices.Equal(n.Wants, []string{c[0]}) {
		t.Fatalf("requests = %+v, want one fetch of %s", n, c[0])
	}
	// Depth 1 again: c1 alone, not its history.
	if n := commitCount(t, cache, c[0]); n != "1" {
		t.Fatalf("fetched %s commits for the base, want 1", n)
	}
	// A second diff needs no network.
	rem.Server.ResetCounts()
	if _, err := r.ChangedPaths(ctx(t), c[0], c[2]); err != nil {
		t.Fatal(err)
	}
	if n := rem.Requests(); n.InfoRefs+n.UploadPack != 0 {
		t.Fatalf("second diff contacted the remote: %+v", n)
	}
}

func TestFullCacheHasHistory(t *testing.T) {
	rem, c := shallowRemote(t)
	cache := t.TempDir()
	r := open(t, rem.URL, func(o *git.Options) { o.CacheDir = cache })
	if _, err := r.Poll(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if n := commitCount(t, cache, "main"); n != "3" {
		t.Fatalf("full cache holds %s commits, want 3", n)
	}
	rem.Server.ResetCounts()
	if _, err := r.ChangedPaths(ctx(t), c[0], c[2]); err != nil {
		t.Fatal(err)
	}
	if n := rem.Requests(); n.InfoRefs+n.UploadPack != 0 {
		t.Fatalf("diff within history contacted the remote: %+v", n)
	}
}
