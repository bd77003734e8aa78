package git

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"syscall"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Poll lists the remote's refs and, when they differ from the cache,
// fetches the new commits, updates the cache's refs and deletes refs the
// remote no longer has. An unchanged remote costs one ref advertisement
// and no disk access. Every commit in the returned snapshot is in the
// cache. A ref that cannot be followed (an invalid name, a name the cache
// cannot store next to another) is left out of the snapshot and named in
// its Warnings; the other refs are polled as usual.
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
	r.adv.take() // anything left from a clone or an earlier, failed poll
	ar, err := sess.AdvertisedReferencesContext(lctx)
	var remote map[plumbing.ReferenceName]plumbing.Hash
	var warnings []string
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
		remote, head, warnings = advertised(ar)
		for _, name := range r.adv.take() {
			if tracked(name) {
				warnings = append(warnings, skipped(name, "the name contains a space"))
			}
		}
		sort.Strings(warnings)
	}

	d := diffRefs(r.known, remote)
	if d.empty() && head == r.head {
		return r.snapshot(warnings), nil
	}

	if len(d.changed) > 0 {
		fctx, cancel := context.WithTimeout(ctx, r.opts.FetchTimeout)
		defer cancel()
		if err := r.fetchChanged(fctx, sess, ar, d); err != nil {
			return engine.RefSnapshot{}, err
		}
	}
	unstored, err := r.updateRefs(d, head)
	if err != nil {
		r.known = nil // reread the cache next time: it may be half updated
		return engine.RefSnapshot{}, err
	}
	for name, why := range unstored {
		// Not known: the next poll tries it again, and warns again.
		delete(remote, name)
		warnings = append(warnings, skipped(name.String(), why))
	}
	sort.Strings(warnings)
	r.known, r.head = remote, head
	r.log.Debug("git refs changed", "changed", len(d.changed), "deleted", len(d.deleted), "head", head)
	return r.snapshot(warnings), nil
}

// snapshot copies the known refs for the caller. Call with pollMu.
func (r *Repo) snapshot(warnings []string) engine.RefSnapshot {
	refs := make(map[string]string, len(r.known))
	for name, h := range r.known {
		refs[name.String()] = h.String()
	}
	return engine.RefSnapshot{Head: r.head, Refs: refs, Warnings: warnings}
}

// updateRefs writes the poll's outcome into the cache. A ref the cache
// cannot store (refs/heads/a next to refs/heads/a/b, which a remote's
// packed-refs may hold) comes back in unstored with the reason; a full
// disk is an error.
func (r *Repo) updateRefs(d refDiff, head string) (unstored map[plumbing.ReferenceName]string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// In name order, so that of two clashing refs the same one is stored
	// at every poll.
	names := make([]plumbing.ReferenceName, 0, len(d.changed))
	for name := range d.changed {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	for _, name := range names {
		err := r.st.SetReference(plumbing.NewHashReference(name, d.changed[name]))
		if errors.Is(diskFull(err), ErrDiskFull) {
			return nil, fmt.Errorf("git %s: update %s: %w", r.redacted, name, diskFull(err))
		}
		if err != nil {
			if unstored == nil {
				unstored = map[plumbing.ReferenceName]string{}
			}
			unstored[name] = "the cache cannot store it: " + r.secrets.scrub(err.Error())
			if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) {
				unstored[name] = "the cache cannot store it next to a ref named like its folder (refs/heads/a and refs/heads/a/b)"
			}
		}
	}
	for _, name := range d.deleted {
		if err := r.st.RemoveReference(name); err != nil {
			return nil, fmt.Errorf("git %s: delete %q: %w", r.redacted, name, err)
		}
	}
	if head != "" && head != r.head {
		ref := plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(head))
		if err := r.st.SetReference(ref); err != nil {
			return nil, fmt.Errorf("git %s: set HEAD: %w", r.redacted, diskFull(err))
		}
	}
	return unstored, nil
}
