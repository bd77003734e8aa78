package git_test

import (
	"maps"
	"testing"

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
}
