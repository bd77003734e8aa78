// Package retention removes the logs and workspaces of old finished runs
// and keeps their summary (state, metrics, timings), so that the data
// directory stops growing while the run list and pull request comparisons
// keep working. Which runs go is the store's query (never a run in
// progress, with a report to deliver, or of an open pull request's latest
// commit); where a run's workspace lives is the executor's business.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// Store finds the runs to prune and replaces their logs with a note.
type Store interface {
	PruneCandidates(ctx context.Context, before time.Time, keepPerJob, limit int) ([]string, error)
	PruneLog(ctx context.Context, runID string, at time.Time) error
}

// Workspaces removes a finished run's workspace wherever it lives.
type Workspaces interface {
	RemoveWorkspace(ctx context.Context, runID string) error
}

// Policy says which finished runs go: older than MaxAge, or past the
// KeepPerJob newest runs of their job. A zero field is no limit.
type Policy struct {
	MaxAge     time.Duration
	KeepPerJob int
}

// Options configure a Sweeper.
type Options struct {
	Policy
	Store Store
	// Workspaces removes workspaces; nil when the syncer cannot reach them
	// (a kube executor without a results mount): only logs are pruned.
	Workspaces Workspaces
	// Every is the time between sweeps (default 10m); Batch the most runs
	// asked for at once (default 100).
	Every  time.Duration
	Batch  int
	Clock  engine.Clock
	Logger *slog.Logger
}

// Sweeper applies a policy.
type Sweeper struct{ o Options }

// New checks the options.
func New(o Options) (*Sweeper, error) {
	if o.Store == nil {
		return nil, errors.New("retention: a store is required")
	}
	if o.MaxAge < 0 || o.KeepPerJob < 0 {
		return nil, fmt.Errorf("retention: negative policy %+v", o.Policy)
	}
	if o.Every <= 0 {
		o.Every = 10 * time.Minute
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Clock == nil {
		o.Clock = engine.SystemClock
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Sweeper{o: o}, nil
}

// Sweep prunes every run the policy lets go, a batch at a time, and
// returns how many it pruned. A run whose workspace cannot be removed
// keeps its log too, and is tried again at the next sweep.
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	now := s.o.Clock.Now()
	var before time.Time
	if s.o.MaxAge > 0 {
		before = now.Add(-s.o.MaxAge)
	}
	pruned := 0
	var errs []error
	for {
		ids, err := s.o.Store.PruneCandidates(ctx, before, s.o.KeepPerJob, s.o.Batch)
		if err != nil {
			return pruned, err
		}
		done := 0
		for _, id := range ids {
			if err := s.prune(ctx, id, now); err != nil {
				if ctx.Err() != nil {
					return pruned, ctx.Err()
				}
				errs = append(errs, err)
				continue
			}
			done++
		}
		pruned += done
		if len(ids) < s.o.Batch || done == 0 {
			break
		}
	}
	if pruned > 0 {
		s.o.Logger.Info("retention: removed the logs and workspaces of old runs", "runs", pruned, "maxAge", s.o.MaxAge, "keepPerJob", s.o.KeepPerJob)
	}
	return pruned, errors.Join(errs...)
}

func (s *Sweeper) prune(ctx context.Context, id string, now time.Time) error {
	if s.o.Workspaces != nil {
		if err := s.o.Workspaces.RemoveWorkspace(ctx, id); err != nil && !errors.Is(err, engine.ErrNotFound) {
			return fmt.Errorf("retention: %w", err)
		}
	}
	if err := s.o.Store.PruneLog(ctx, id, now); err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	return nil
}

// Run sweeps at once and then every Every until ctx ends; failures are
// logged and tried again at the next sweep.
func (s *Sweeper) Run(ctx context.Context) error {
	t := time.NewTicker(s.o.Every)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.o.Logger.Warn("retention sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Folders are workspaces kept one folder per run, <Dir>/<run id> (the
// kube executor's subPaths on the results volume, as the syncer mounts
// it).
type Folders struct{ Dir string }

// RemoveWorkspace deletes <Dir>/<runID>; a missing folder is fine.
func (f Folders) RemoveWorkspace(ctx context.Context, runID string) error {
	if runID == "" || runID != filepath.Base(runID) || strings.HasPrefix(runID, ".") {
		return fmt.Errorf("remove workspace of %q: %w", runID, engine.ErrNotFound)
	}
	if err := os.RemoveAll(filepath.Join(f.Dir, runID)); err != nil {
		return fmt.Errorf("remove workspace of run %s: %w", runID, err)
	}
	return nil
}
