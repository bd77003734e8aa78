package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// maxHaves bounds how many commits a fetch tells the server it has. The
// best ones (the refs' previous tips) come first; beyond a few hundred the
// request grows without shrinking the pack much.
const maxHaves = 256

// errCommitUnavailable: the server will not send a commit we asked for.
var errCommitUnavailable = errors.New("commit not available from the remote")

// fetchChanged fetches the commits of changed refs that the cache lacks, in
// the session whose advertisement revealed them. Call with pollMu.
func (r *Repo) fetchChanged(ctx context.Context, sess transport.UploadPackSession, ar *packp.AdvRefs, d refDiff) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var wants []plumbing.Hash
	seen := map[plumbing.Hash]bool{}
	for _, h := range d.changed {
		if !seen[h] && !r.hasCommit(h) {
			wants = append(wants, h)
		}
		seen[h] = true
	}
	if len(wants) == 0 {
		return nil // a new ref at a commit we already have
	}
	sort.Slice(wants, func(i, j int) bool { return wants[i].String() < wants[j].String() })
	var first []plumbing.Hash // previous tips of the moved refs
	for name := range d.changed {
		if h, ok := r.known[name]; ok {
			first = append(first, h)
		}
	}
	return r.fetchLocked(ctx, sess, ar, wants, r.haves(first))
}

// haves lists commits the cache holds, best hints first. Call with mu.
func (r *Repo) haves(first []plumbing.Hash) []plumbing.Hash {
	out := make([]plumbing.Hash, 0, maxHaves)
	seen := map[plumbing.Hash]bool{}
	add := func(h plumbing.Hash) {
		if len(out) < maxHaves && !seen[h] && r.hasCommit(h) {
			seen[h] = true
			out = append(out, h)
		}
	}
	for _, h := range first {
		add(h)
	}
	iter, err := r.st.IterReferences()
	if err != nil {
		return out
	}
	var branches, others []plumbing.Hash
	_ = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() != plumbing.HashReference {
			return nil
		}
		if ref.Name().IsBranch() {
			branches = append(branches, ref.Hash())
		} else {
			others = append(others, ref.Hash())
		}
		return nil
	})
	for _, h := range append(branches, others...) {
		add(h)
	}
	return out
}

// fetchLocked asks the server for wants and stores the pack it sends.
// Shallow caches fetch with depth 1. Call with mu.
// ar must be the session's advertisement: over HTTP asking for it again
// would cost another request.
func (r *Repo) fetchLocked(ctx context.Context, sess transport.UploadPackSession, ar *packp.AdvRefs, wants, haves []plumbing.Hash) error {
	req := packp.NewUploadPackRequestFromCapabilities(ar.Capabilities)
	if ar.Capabilities.Supports(capability.NoProgress) {
		_ = req.Capabilities.Set(capability.NoProgress)
	}
	shallows, err := r.st.Shallow()
	if err != nil {
		return fmt.Errorf("git %s: read shallow list: %w", r.redacted, err)
	}
	if ar.Capabilities.Supports(capability.Shallow) {
		if r.opts.Shallow {
			req.Depth = packp.DepthCommits(1)
		}
		if r.opts.Shallow || len(shallows) > 0 {
			// The server must know where our history stops, or it would
			// assume we have the parents of our shallow commits.
			_ = req.Capabilities.Set(capability.Shallow)
			req.Shallows = shallows
		}
	}
	req.Wants = wants
	req.Haves = haves

	resp, err := sess.UploadPack(ctx, req)
	if errors.Is(err, transport.ErrEmptyUploadPackRequest) {
		return nil
	}
	if err != nil {
		return r.remoteError(ctx, "fetch", err)
	}
	defer resp.Close()

	if err := r.updateShallow(shallows, resp.ShallowUpdate); err != nil {
		return err
	}
	if err := packfile.UpdateObjectStorage(r.st, demux(req.Capabilities, resp)); err != nil {
		if errors.Is(diskFull(err), ErrDiskFull) {
			return fmt.Errorf("git %s: store fetched objects: %w", r.redacted, diskFull(err))
		}
		return r.remoteError(ctx, "fetch", err)
	}
	for _, h := range wants {
		if !r.hasCommit(h) {
			return fmt.Errorf("git %s: fetch: server did not send commit %s", r.redacted, h)
		}
	}
	r.log.Info("git fetched", "commits", len(wants), "haves", len(haves), "shallow", r.opts.Shallow)
	return nil
}

// demux strips the side-band framing the server wraps the pack in.
func demux(caps *capability.List, r io.Reader) io.Reader {
	switch {
	case caps.Supports(capability.Sideband64k):
		return sideband.NewDemuxer(sideband.Sideband64k, r)
	case caps.Supports(capability.Sideband):
		return sideband.NewDemuxer(sideband.Sideband, r)
	}
	return r
}

// updateShallow records the server's new shallow boundary.
func (r *Repo) updateShallow(old []plumbing.Hash, upd packp.ShallowUpdate) error {
	if len(upd.Shallows) == 0 && len(upd.Unshallows) == 0 {
		return nil
	}
	set := map[plumbing.Hash]bool{}
	for _, h := range old {
		set[h] = true
	}
	for _, h := range upd.Shallows {
		set[h] = true
	}
	for _, h := range upd.Unshallows {
		delete(set, h)
	}
	list := make([]plumbing.Hash, 0, len(set))
	for h := range set {
		list = append(list, h)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].String() < list[j].String() })
	if err := r.st.SetShallow(list); err != nil {
		return fmt.Errorf("git %s: write shallow list: %w", r.redacted, diskFull(err))
	}
	return nil
}

// ensureCommit makes sure commit h is in the cache, fetching it by id when
// it is missing. It fails with errCommitUnavailable when the server does
// not allow fetching h, and with a *RemoteError when the remote cannot be
// reached.
func (r *Repo) ensureCommit(ctx context.Context, h plumbing.Hash) error {
	r.mu.Lock()
	ok := r.hasCommit(h)
	r.mu.Unlock()
	if ok {
		return nil
	}
	lctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	sess, err := r.openSession(lctx)
	if err != nil {
		return r.remoteError(lctx, "fetch", err)
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(lctx)
	if err != nil {
		if errors.Is(err, transport.ErrEmptyRemoteRepository) {
			return fmt.Errorf("%w: %s (the repository is empty)", errCommitUnavailable, h)
		}
		return r.remoteError(lctx, "fetch", err)
	}
	if !canWant(ar, h) {
		return fmt.Errorf("%w: %s is not a ref tip and the server does not allow fetching by id", errCommitUnavailable, h)
	}
	fctx, cancel := context.WithTimeout(ctx, r.opts.FetchTimeout)
	defer cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hasCommit(h) { // fetched meanwhile
		return nil
	}
	if err := r.fetchLocked(fctx, sess, ar, []plumbing.Hash{h}, r.haves(nil)); err != nil {
		var re *RemoteError
		if errors.As(err, &re) && !re.Temporary() && re.Kind != KindAuth && re.Kind != KindNotFound {
			// upload-pack refuses unknown or unreachable ids ("not our ref").
			return fmt.Errorf("%w: %s: %w", errCommitUnavailable, h, err)
		}
		return err
	}
	return nil
}

// canWant reports whether the server will send commit h when asked by id.
func canWant(ar *packp.AdvRefs, h plumbing.Hash) bool {
	if ar.Capabilities.Supports(capability.AllowReachableSHA1InWant) ||
		ar.Capabilities.Supports(capability.AllowTipSHA1InWant) {
		return true
	}
	for _, v := range ar.References {
		if v == h {
			return true
		}
	}
	return ar.Head != nil && *ar.Head == h
}
