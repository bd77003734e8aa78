// Package daemontest builds syncers for tests exactly as `gitlaunch sync`
// does, through sync/daemon: a config file written to a temporary folder,
// a data directory, and the real parts the config names. It is the one
// place tests wire engines and daemons; tests differ only in the config
// they write and the seams daemon.Options offers.
package daemontest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/store"
)

// Buffer is an io.Writer safe for the syncer's goroutines and the test's.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Syncer is one syncer process of a test.
type Syncer struct {
	*daemon.Daemon
	// Console receives the console reporter's lines; Log the syncer's log.
	Console, Log *Buffer

	t    testing.TB
	stop func()
}

// Config is the start of a gitlaunch.yaml; a test appends its sections.
const Config = "apiVersion: gitlaunch.dev/v1\nkind: Config\n"

// Open writes config (a complete gitlaunch.yaml; "" for the defaults) into
// dataDir's parent folder and opens a syncer on it with opts. dataDir ""
// is a new temporary folder; a test that restarts a syncer passes the same
// folder again. Unset options get test-friendly values: a dispatching
// role, a console, a debug log shown when the test fails, short local
// executor grace periods. The syncer is closed when the test ends.
func Open(t testing.TB, dataDir, config string, opts daemon.Options) *Syncer {
	t.Helper()
	if dataDir == "" {
		dataDir = filepath.Join(t.TempDir(), "data")
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Syncer{Console: &Buffer{}, Log: &Buffer{}, t: t}
	if config != "" && opts.ConfigPath == "" {
		opts.ConfigPath = filepath.Join(t.TempDir(), "gitlaunch.yaml")
		if err := os.WriteFile(opts.ConfigPath, []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if opts.DataDir == "" {
		opts.DataDir = dataDir
	}
	if opts.Role == daemon.RoleReader {
		opts.Role = daemon.RoleDispatcher
	}
	if opts.Console == nil {
		opts.Console = s.Console
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(s.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.KillGrace == 0 {
		opts.KillGrace = time.Second
	}
	if opts.FlushInterval == 0 {
		opts.FlushInterval = 20 * time.Millisecond
	}
	d, err := daemon.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("open syncer: %v", err)
	}
	s.Daemon = d
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("syncer log:\n%s", s.Log.String())
		}
	})
	return s
}

// Start runs the syncer (daemon.Run) until Stop or the end of the test.
func (s *Syncer) Start() *Syncer {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				s.t.Errorf("syncer stopped with: %v", err)
			}
		})
	}
	return s
}

// Stop ends Run (when started) and closes the syncer; a second Stop does
// nothing.
func (s *Syncer) Stop() {
	if s.stop != nil {
		s.stop()
	}
	if err := s.Close(); err != nil {
		s.t.Errorf("close syncer: %v", err)
	}
}

// Wait steps the engine until the runs are terminal and their reports
// delivered, failing the test after a minute.
func (s *Syncer) Wait(runs ...*engine.Run) []*engine.Run {
	s.t.Helper()
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.Engine().WaitIdle(ctx, ids)
	if err != nil {
		s.t.Fatalf("wait for runs: %v", err)
	}
	return out
}

// Store is the syncer's run store.
func (s *Syncer) Store() *store.Store { return s.Daemon.Store() }
