package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/internal/tmpfstest"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
)

// TestDiskFullEndsTheRun: a run whose output fills the store's 8 MiB file
// system is stopped and ends in StateError saying the data directory is
// full; the store stays sound, and the next run is planned and runs once
// there is room again.
func TestDiskFullEndsTheRun(t *testing.T) {
	storeDir := tmpfstest.Mount(t, 8<<20)
	// Another tenant of the disk, whose leaving makes room at the end.
	filler := filepath.Join(storeDir, "filler")
	if err := os.WriteFile(filler, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	remote := gittest.NewRemote(t)
	remote.Commit(t, "main", map[string]string{
		"loud/job.yaml": job("loud", "yes 'step 1 loss 0.5 and a line long enough to fill a disk' | head -c 30000000; sleep 60", ""),
	}, "first")
	h := newHarness(t, remote, "", harnessOpts{storeDir: storeDir})
	if err := h.store.KeepReserve(512 << 10); err != nil {
		t.Fatal(err)
	}
	runs := h.wait(h.poll()...)
	if len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
	r := runs[0]
	if r.State != engine.StateError || !strings.HasPrefix(r.Reason, "data directory full: ") {
		t.Fatalf("run ended %s: %q; want error, data directory full", r.State, r.Reason)
	}
	if r.Duration(h.clock.Now()) < 0 {
		t.Error("no timing recorded")
	}
	if err := h.store.IntegrityCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.out.String(), "data directory full") {
		t.Errorf("console:\n%s", h.out.String())
	}

	if n := strings.Count(h.out.String(), "data directory full"); n != 1 {
		t.Errorf("the console told the run's end %d times:\n%s", n, h.out.String())
	}

	// The engine goes on: with room again, the next commit runs.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // the store makes its reserve again at most every second
	remote.Commit(t, "main", map[string]string{"loud/job.yaml": job("loud", "echo quiet", "")}, "quiet")
	next := h.wait(h.poll()...)
	if len(next) != 1 || next[0].State != engine.StateSucceeded {
		t.Fatalf("next run: %s %q", next[0].State, next[0].Reason)
	}
}
