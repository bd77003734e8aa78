package git

import (
	"context"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ChangedPaths lists the paths that differ between the trees of commits
// from and to, sorted: added, deleted and modified files, and both the old
// and the new path of a rename. An empty from means "no base" and returns
// nil, nil: the caller then treats every job as changed.
//
// Only the two commits' trees are compared, so a shallow cache works as
// long as both commits are present. A missing commit is fetched by id when
// the server allows it; when it cannot be had the error wraps
// ErrHistoryUnavailable (and, when the remote failed, the *RemoteError).
func (r *Repo) ChangedPaths(ctx context.Context, from, to string) ([]string, error) {
	if from == "" {
		return nil, nil
	}
	fh, err := parseSHA(from)
	if err != nil {
		return nil, err
	}
	th, err := parseSHA(to)
	if err != nil {
		return nil, err
	}
	if fh == th {
		return []string{}, nil
	}
	for _, h := range []plumbing.Hash{fh, th} {
		if err := r.ensureCommit(ctx, h); err != nil {
			// Whether the server refused or failed, the planner cannot
			// narrow the change down; a *RemoteError stays visible inside.
			return nil, fmt.Errorf("git %s: changes %s..%s: %w: %w", r.redacted, from, to, ErrHistoryUnavailable, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	trees := make([]*object.Tree, 2)
	for i, h := range []plumbing.Hash{fh, th} {
		c, err := object.GetCommit(r.st, h)
		if err != nil {
			return nil, fmt.Errorf("git %s: read commit %s: %w", r.redacted, h, err)
		}
		if trees[i], err = c.Tree(); err != nil {
			return nil, fmt.Errorf("git %s: read tree of %s: %w", r.redacted, h, err)
		}
	}
	changes, err := object.DiffTreeWithOptions(ctx, trees[0], trees[1], &object.DiffTreeOptions{})
	if err != nil {
		return nil, fmt.Errorf("git %s: diff %s..%s: %w", r.redacted, from, to, err)
	}
	seen := map[string]bool{}
	out := []string{}
	for _, c := range changes {
		for _, name := range []string{c.From.Name, c.To.Name} {
			if name != "" && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}
