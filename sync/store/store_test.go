package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestOpenCreatesFolderAndSetsPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "gitlaunch.db")
	s := openAt(t, path)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
	ctx := context.Background()
	for _, db := range []struct {
		name string
		db   *sql.DB
	}{{"writer", s.w}, {"reader", s.r}} {
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			"foreign_keys": "1",
			"synchronous":  "1", // NORMAL
			"busy_timeout": fmt.Sprint(busyTimeout.Milliseconds()),
		} {
			var got string
			if err := db.db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("%s: PRAGMA %s: %v", db.name, pragma, err)
			}
			if got != want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", db.name, pragma, got, want)
			}
		}
	}
	// The read pool must not be able to write, so a stray write through it
	// cannot race the single writer.
	if _, err := s.r.ExecContext(ctx, `INSERT INTO kv (key, value) VALUES ('k', 'v')`); err == nil {
		t.Error("write through the read pool succeeded, want a query_only error")
	}
}

func TestOpenRejectsBadPaths(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "notes.txt")
	content := bytes.Repeat([]byte("not a database\n"), 100)
	if err := os.WriteFile(garbage, content, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path string }{
		{"empty", ""},
		{"a folder", dir},
		{"not a database", garbage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(context.Background(), tc.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tc.path)
			}
			if tc.path != "" && !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	if got, _ := os.ReadFile(garbage); !bytes.Equal(got, content) {
		t.Error("Open changed a file that is not a database")
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gitlaunch.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r := newRun("demo", "mnist/job.yaml", "1111111111111111111111111111111111111111", t0)
	code := 0
	mustCreate(t, s, r, "console")
	r.ExitCode = &code
	r.Metrics = map[string]float64{"accuracy": 98.5}
	r.Artifacts = []engine.Artifact{{Path: "mnist_cnn.pt", Size: 1234}}
	mustUpdate(t, s, r, engine.StateSucceeded, "exit 0", t0.Add(time.Minute), "console")
	if err := s.AppendLog(ctx, r.ID, []byte("epoch 1\nepoch 2\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePlannedRefs(ctx, "demo", map[string]string{"refs/heads/main": "abc"}); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueReports(ctx, time.Now(), 0)
	if err != nil || len(due) != 2 {
		t.Fatalf("DueReports = %v, %v; want 2 items", due, err)
	}
	if err := s.MarkDelivered(ctx, due[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path)
	got, err := s.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("run after reopen:\n got %+v\nwant %+v", got, r)
	}
	ts, err := s.Transitions(ctx, r.ID)
	if err != nil || len(ts) != 2 {
		t.Errorf("Transitions after reopen = %v, %v; want 2", ts, err)
	}
	if log := readAll(t, s, r.ID, 0); log != "epoch 1\nepoch 2\n" {
		t.Errorf("log after reopen = %q", log)
	}
	if refs, ok, err := s.PlannedRefs(ctx, "demo"); refs["refs/heads/main"] != "abc" || !ok || err != nil {
		t.Errorf("PlannedRefs after reopen = %v, %v, %v", refs, ok, err)
	}
	due2, err := s.DueReports(ctx, time.Now(), 0)
	if err != nil || len(due2) != 1 || due2[0] != due[1] {
		t.Errorf("DueReports after reopen = %+v, %v; want [%+v]", due2, err, due[1])
	}
}

func userVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// withMigrations replaces the package's migration list for one test.
func withMigrations(t *testing.T, steps []string) {
	old := migrations
	migrations = steps
	t.Cleanup(func() { migrations = old })
}

func TestMigrateOldDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gitlaunch.db")
	current := append([]string(nil), migrations...)

	// A database written by this build...
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r := newRun("demo", "a/job.yaml", "2222222222222222222222222222222222222222", t0)
	mustCreate(t, s, r, "console")
	s.Close()
	if v := userVersion(t, path); v != len(current) {
		t.Fatalf("user_version = %d, want %d", v, len(current))
	}

	// ...is migrated by a newer one: a failing step changes nothing,
	withMigrations(t, append(current[:len(current):len(current)],
		`ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT 'none'`,
		`CREATE TABLE runs (id TEXT)`, // fails: exists
	))
	if s, err := Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("Open with a failing migration step succeeded")
	} else if !strings.Contains(err.Error(), fmt.Sprintf("step %d", len(current)+2)) {
		t.Errorf("error %q does not name the failing step", err)
	}
	if v := userVersion(t, path); v != len(current) {
		t.Fatalf("user_version after a failed migration = %d, want %d", v, len(current))
	}

	// and the good steps apply, keeping the data.
	withMigrations(t, append(current[:len(current):len(current)],
		`ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT 'none'`,
		`CREATE INDEX runs_note ON runs (note)`,
	))
	s = openAt(t, path)
	if v := userVersion(t, path); v != len(current)+2 {
		t.Errorf("user_version = %d, want %d", v, len(current)+2)
	}
	var note string
	if err := s.r.QueryRowContext(ctx, `SELECT note FROM runs WHERE id = ?`, r.ID).Scan(&note); err != nil || note != "none" {
		t.Errorf("new column = %q, %v", note, err)
	}
	if got, err := s.GetRun(ctx, r.ID); err != nil || got.SHA != r.SHA {
		t.Errorf("GetRun after migration = %v, %v", got, err)
	}
}

func TestOpenRefusesNewerDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gitlaunch.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	future := len(migrations) + 3
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", future)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = Open(ctx, path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a newer database succeeded")
	}
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("error %v does not wrap ErrSchemaTooNew", err)
	}
	for _, want := range []string{path, fmt.Sprint(future), fmt.Sprint(len(migrations)), "upgrade gitlaunch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if v := userVersion(t, path); v != future {
		t.Errorf("user_version changed to %d", v)
	}
}
