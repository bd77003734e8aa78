package git_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
)

// TestPollSkipsHostileRefs reproduces issue 9 finding 9 with a real git
// server: refs no git command would create, written into the remote's
// packed-refs, once stopped every poll of the repository (and printed ESC
// raw in the error). Now each is skipped with a quoted warning, and the
// other refs are polled and keep being polled.
func TestPollSkipsHostileRefs(t *testing.T) {
	rem := gittest.NewRemote(t)
	c1 := rem.Commit(t, "main", map[string]string{"a/job.yaml": "name: a\n"}, "one")
	c2 := rem.Commit(t, "feature", map[string]string{"b.txt": "b"}, "two")
	c3 := rem.Commit(t, "next", map[string]string{"b.txt": "c"}, "three")
	hostile := map[string]string{
		"refs/heads/\x1b]0;pwned\x07x": "control character", // OSC: sets the terminal's title
		"refs/heads/\x1b[2J":           "control character",
		"refs/heads/a..b":              "..",
		"refs/heads/sp ace":            "space",
		"refs/heads/x.lock":            ".lock",
		"refs/heads/bad\xffutf":        "not UTF-8",
		"refs/heads/main/sub":          "cannot store", // main is a file in the cache's refs/heads
		"refs/pull/9/head/x":           "",             // not tracked: no warning
	}
	for ref := range hostile {
		rem.AddPackedRef(t, ref, c2)
	}
	r := open(t, rem.URL)
	for poll := range 2 {
		snap, err := r.Poll(ctx(t))
		if err != nil {
			t.Fatalf("poll %d: %v", poll, err)
		}
		want := map[string]string{"refs/heads/main": c1, "refs/heads/feature": c2, "refs/heads/next": c3}
		if !maps.Equal(snap.Refs, want) {
			t.Fatalf("poll %d: refs %q, want %q", poll, snap.Refs, want)
		}
		text := strings.Join(snap.Warnings, "\n")
		if len(snap.Warnings) != len(hostile)-1 || strings.ContainsAny(text, "\x1b\x07\xff") {
			t.Errorf("poll %d: warnings:\n%q", poll, snap.Warnings)
		}
		for ref, why := range hostile {
			if why != "" && !strings.Contains(text, why) {
				t.Errorf("poll %d: no warning says %q for %q:\n%s", poll, why, ref, text)
			}
		}
		if !strings.Contains(text, `"refs/heads/\x1b]0;pwned\ax" skipped`) {
			t.Errorf("poll %d: the ESC ref is not quoted:\n%s", poll, text)
		}
	}
	// Other refs still move. (git itself can no longer push to the remote
	// with those refs in it; update-ref still works.)
	rem.SetRef(t, "refs/heads/feature", c3)
	snap, err := r.Poll(ctx(t))
	if err != nil || snap.Refs["refs/heads/feature"] != c3 {
		t.Fatalf("after a push: %v %v", snap.Refs, err)
	}
	if len(snap.Warnings) != len(hostile)-1 {
		t.Errorf("after a push: warnings %q", snap.Warnings)
	}
}
