package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gitlaunch/gitlaunch/internal/tmpfstest"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// noReserve runs TestDiskFull without the space reserve, to see it fail
// (NO_RESERVE=1 go test -run DiskFull ./sync/store).
var noReserve = os.Getenv("NO_RESERVE") != ""

// TestDiskFull fills a real 4 MiB file system under a store whose WAL was
// just emptied, as another writer (a job's output) would: a log append
// fails with engine.ErrDiskFull and changes nothing, the run's end is
// still recorded thanks to the space reserve, the database passes SQLite's
// integrity check, and the reserve comes back once there is room again.
func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	dir := tmpfstest.Mount(t, 4<<20)
	path := filepath.Join(dir, "gitlaunch.db")
	s := openAt(t, path)
	if !noReserve {
		if err := s.KeepReserve(256 << 10); err != nil {
			t.Fatal(err)
		}
	}
	r := newRun("demo", "a/job.yaml", sha1, t0)
	mustCreate(t, s, r, "console")
	mustUpdate(t, s, r, engine.StateRunning, "", t0)
	head := []byte("the first line\n")
	if err := s.AppendLog(ctx, r.ID, head); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	fillUp(t, other)

	err := s.AppendLog(ctx, r.ID, bytes.Repeat([]byte("0123456789abcdef\n"), 4<<10))
	if !errors.Is(err, engine.ErrDiskFull) || !strings.Contains(err.Error(), "data directory full") {
		t.Fatalf("append on a full disk: %v; want engine.ErrDiskFull", err)
	}
	if got := readAll(t, s, r.ID, 0); got != string(head) {
		t.Errorf("log after the failed append: %q", got)
	}
	if !s.Reserved() && !noReserve {
		t.Fatal("a log append used the reserve")
	}

	mustUpdate(t, s, r, engine.StateError, "data directory full: test", t0)
	if s.Reserved() {
		t.Error("the reserve is still held after a state write found the disk full")
	}
	checkIntegrity(t, s)
	got, err := s.GetRun(ctx, r.ID)
	if err != nil || got.State != engine.StateError || got.Reason != "data directory full: test" {
		t.Fatalf("run after the disk was full: %+v, %v", got, err)
	}

	// Room again: the next write makes the reserve again.
	old := reserveRetry
	reserveRetry = 0
	t.Cleanup(func() { reserveRetry = old })
	if err := os.Remove(other); err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, s, r, engine.StateError, "data directory full: again", t0)
	if !s.Reserved() {
		t.Error("the reserve did not come back once there was room")
	}
	s.Close()
	again := openAt(t, path)
	checkIntegrity(t, again)
	if got, err := again.GetRun(ctx, r.ID); err != nil || got.Reason != "data directory full: again" {
		t.Errorf("run after reopening: %+v, %v", got, err)
	}
}

// fillUp writes name until the disk is full.
func fillUp(t *testing.T, name string) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

func checkIntegrity(t *testing.T, s *Store) {
	t.Helper()
	if err := s.IntegrityCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
}
