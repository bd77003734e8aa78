package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenExistingCreatesNothing: a reader in a folder without a store gets
// ErrNoStore, and neither the file nor its folder appear.
func TestOpenExistingCreatesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "data", "gitlaunch.db")
	_, err := OpenExisting(ctx, path)
	if !errors.Is(err, ErrNoStore) || !strings.Contains(err.Error(), path) {
		t.Fatalf("OpenExisting in an empty folder: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("OpenExisting created %v", entries)
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenExisting(ctx, filepath.Join(dir, "data")); err == nil || errors.Is(err, ErrNoStore) {
		t.Errorf("OpenExisting on a folder: %v", err)
	}

	w := openAt(t, path)
	r := newRun("demo", "a/job.yaml", sha1, t0)
	mustCreate(t, w, r)
	ro, err := OpenExisting(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got, err := ro.GetRun(ctx, r.ID); err != nil || got.ID != r.ID {
		t.Errorf("a reader does not see the run: %v", err)
	}
}

// TestCheckSeesDeletedAndReplacedFile: Check passes on the file opened and
// fails, saying what happened, once the path is deleted or another file
// takes its place.
func TestCheckSeesDeletedAndReplacedFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gitlaunch.db")
	s := openAt(t, path)
	mustCreate(t, s, newRun("demo", "a/job.yaml", sha1, t0))
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check of the store as opened: %v", err)
	}
	copyOf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); !errors.Is(err, ErrReplaced) || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("Check after the file was deleted: %v", err)
	}
	// The deleted file still takes writes: that is the danger.
	if _, err := s.CreateRun(ctx, newRun("demo", "b/job.yaml", sha1, t0), nil); err != nil {
		t.Fatalf("write to the unlinked store: %v", err)
	}
	if err := os.WriteFile(path, copyOf, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); !errors.Is(err, ErrReplaced) || !strings.Contains(err.Error(), "another file") {
		t.Errorf("Check after the file was replaced: %v", err)
	}
}
