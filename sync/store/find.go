package store

import (
	"context"
	"errors"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"strings"
)

// ErrAmbiguous is returned (wrapped) by FindRun when a prefix matches
// more than one run.
var ErrAmbiguous = errors.New("ambiguous run ID prefix")

// MinPrefix is the shortest ID prefix FindRun accepts.
const MinPrefix = 4

// maxCandidates is how many matches an ambiguity error lists.
const maxCandidates = 10

// FindRun resolves a full run ID or a unique prefix of at least MinPrefix
// characters, as people type them on the command line. No match wraps
// engine.ErrNotFound; several wrap ErrAmbiguous and list the candidates.
func (s *Store) FindRun(ctx context.Context, prefix string) (*engine.Run, error) {
	if len(prefix) < MinPrefix {
		return nil, fmt.Errorf("run ID prefix %q is too short: give at least %d characters", prefix, MinPrefix)
	}
	// Run IDs are lowercase base32; checking this keeps the range query
	// below exact (the upper bound increments the last byte).
	for _, c := range []byte(prefix) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return nil, fmt.Errorf("run ID prefix %q: run IDs hold only lowercase letters and digits", prefix)
		}
	}
	upper := prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1)
	runs, err := s.queryRuns(ctx, `
SELECT data FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?`, prefix, upper, maxCandidates+1)
	if err != nil {
		return nil, fmt.Errorf("find run %s: %w", prefix, err)
	}
	switch {
	case len(runs) == 0:
		return nil, fmt.Errorf("no run ID starts with %q: %w", prefix, engine.ErrNotFound)
	case len(runs) == 1 || runs[0].ID == prefix:
		return runs[0], nil
	}
	lines := make([]string, 0, len(runs))
	for i, r := range runs {
		if i == maxCandidates {
			lines = append(lines, "  …")
			break
		}
		lines = append(lines, fmt.Sprintf("  %s  %s %s @ %s (%s)", r.ID, r.Repo, r.JobPath, engine.ShortSHA(r.SHA), r.State))
	}
	return nil, fmt.Errorf("%w %q matches several runs; give more characters:\n%s", ErrAmbiguous, prefix, strings.Join(lines, "\n"))
}
