package git

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Clone fetches exactly commit sha from url into dest (missing or empty),
// checks it out with a .git directory and a detached HEAD at sha, and
// verifies HEAD. It is the run's init step (`gitlaunch clone`).
//
// When the server allows fetching a commit by id (or sha is a ref's tip),
// only that commit is fetched, at depth 1. Otherwise ref (a full ref such
// as refs/pull/7/head, or a branch name) is fetched with its history and
// must contain sha. Errors: a *RemoteError for an unreachable remote or
// bad credentials (never showing them), sync.ErrNotFound when the commit
// cannot be had, ErrDiskFull when dest's disk is full. ctx bounds the
// whole clone.
func Clone(ctx context.Context, url, sha, ref, dest string, auth Auth) error {
	want, err := parseSHA(sha)
	if err != nil {
		return err
	}
	r, err := newRemote(Options{URL: url, Auth: auth, Shallow: true, Logger: discardLogger})
	if err != nil {
		return err
	}
	if err := prepareDest(dest); err != nil {
		return fmt.Errorf("git clone: %w", err)
	}
	dotgit := filepath.Join(dest, ".git")
	r.st = filesystem.NewStorageWithOptions(osfs.New(dotgit), cache.NewObjectLRUDefault(),
		filesystem.Options{LargeObjectThreshold: largeObject})
	defer r.st.Close()
	repo, err := gogit.InitWithOptions(r.st, osfs.New(dest), gogit.InitOptions{})
	if err != nil {
		return fmt.Errorf("git clone: init %s: %w", dest, diskFull(err))
	}

	if err := r.cloneFetch(ctx, want, ref); err != nil {
		return err
	}

	wt, err := repo.Worktree()
	if err != nil {
		return fmt.Errorf("git clone: %w", err)
	}
	if err := wt.Checkout(&gogit.CheckoutOptions{Hash: want, Force: true}); err != nil {
		return fmt.Errorf("git clone %s: check out %s: %w", r.redacted, sha, diskFull(err))
	}
	head, err := repo.Head()
	if err != nil {
		return fmt.Errorf("git clone: read HEAD: %w", err)
	}
	if head.Hash() != want {
		return fmt.Errorf("git clone %s: HEAD is %s after checkout, want %s", r.redacted, head.Hash(), sha)
	}
	return nil
}

// cloneFetch brings commit want into r.st.
func (r *Repo) cloneFetch(ctx context.Context, want plumbing.Hash, ref string) error {
	sess, err := r.openSession(ctx)
	if err != nil {
		return r.remoteError(ctx, "clone", err)
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return fmt.Errorf("git clone %s: commit %s: the repository is empty: %w", r.redacted, want, engine.ErrNotFound)
	}
	if err != nil {
		return r.remoteError(ctx, "clone", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()

	wants := []plumbing.Hash{want}
	if !canWant(ar, want) {
		// Fetch the ref with its history and look for the commit in it.
		tip, ok := advertisedRef(ar, ref)
		if !ok {
			return fmt.Errorf("git clone %s: commit %s: the server does not allow fetching it by id and ref %q is not on the remote: %w",
				r.redacted, want, ref, engine.ErrNotFound)
		}
		wants = []plumbing.Hash{tip}
		r.opts.Shallow = false
	}
	if err := r.fetchLocked(ctx, sess, ar, wants, nil); err != nil {
		var re *RemoteError
		if errors.As(err, &re) && re.Kind == KindProtocol {
			return fmt.Errorf("git clone %s: commit %s: %w: %w", r.redacted, want, engine.ErrNotFound, err)
		}
		return err
	}
	if !r.hasCommit(want) {
		return fmt.Errorf("git clone %s: commit %s is not in %s: %w", r.redacted, want, ref, engine.ErrNotFound)
	}
	return nil
}

// advertisedRef finds ref (full, or a branch name) in an advertisement.
func advertisedRef(ar *packp.AdvRefs, ref string) (plumbing.Hash, bool) {
	if ref == "" {
		return plumbing.ZeroHash, false
	}
	if !strings.HasPrefix(ref, "refs/") {
		ref = "refs/heads/" + ref
	}
	h, ok := ar.References[ref]
	return h, ok
}

var discardLogger = slog.New(slog.DiscardHandler)
