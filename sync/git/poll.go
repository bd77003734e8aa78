package git

import (
	"context"
	"errors"
	"fmt"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Poll lists the remote's refs and, when they differ from the cache,
// fetches the new commits, updates the cache's refs and deletes refs the
// remote no longer has. An unchanged remote costs one ref advertisement
// and no disk access. Every commit in the returned snapshot is in the
// cache.
func (r *Repo) Poll(ctx context.Context) (engine.RefSnapshot, error) {
	r.pollMu.Lock()
	defer r.pollMu.Unlock()
	if err := r.loadKnown(); err != nil {
		return engine.RefSnapshot{}, err
	}

	lctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	sess, err := r.openSession(lctx)
	if err != nil {
		return engine.RefSnapshot{}, r.remoteError(lctx, "list refs", err)
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(lctx)
	var remote map[plumbing.ReferenceName]plumbing.Hash
	head := r.head
	switch {
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		// A repository nobody pushed to yet: no refs, not an error.
		remote = map[plumbing.ReferenceName]plumbing.Hash{}
		if head == "" {
			head = "main"
		}
	case err != nil:
		return engine.RefSnapshot{}, r.remoteError(lctx, "list refs", err)
	default:
		remote, head = advertised(ar)
	}

	d := diffRefs(r.known, remote)
	if d.empty() && head == r.head {
		return r.snapshot(), nil
	}

	if len(d.changed) > 0 {
		fctx, cancel := context.WithTimeout(ctx, r.opts.FetchTimeout)
		defer cancel()
		if err := r.fetchChanged(fctx, sess, ar, d); err != nil {
			return engine.RefSnapshot{}, err
		}
	}
	if err := r.updateRefs(d, head); err != nil {
		r.known = nil // reread the cache next time: it may be half updated
		return engine.RefSnapshot{}, err
	}
	r.known, r.head = remote, head
	r.log.Debug("git refs changed", "changed", len(d.changed), "deleted", len(d.deleted), "head", head)
	return r.snapshot(), nil
}

// snapshot copies the known refs for the caller. Call with pollMu.
func (r *Repo) snapshot() engine.RefSnapshot {
	refs := make(map[string]string, len(r.known))
	for name, h := range r.known {
		refs[name.String()] = h.String()
	}
	return engine.RefSnapshot{Head: r.head, Refs: refs}
}

// updateRefs writes the poll's outcome into the cache.
func (r *Repo) updateRefs(d refDiff, head string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, h := range d.changed {
		if err := r.st.SetReference(plumbing.NewHashReference(name, h)); err != nil {
			return fmt.Errorf("git %s: update %s: %w", r.redacted, name, diskFull(err))
		}
	}
	for _, name := range d.deleted {
		if err := r.st.RemoveReference(name); err != nil {
			return fmt.Errorf("git %s: delete %s: %w", r.redacted, name, err)
		}
	}
	if head != "" && head != r.head {
		ref := plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(head))
		if err := r.st.SetReference(ref); err != nil {
			return fmt.Errorf("git %s: set HEAD: %w", r.redacted, diskFull(err))
		}
	}
	return nil
}
