package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// Limits on reading trees and files.
const (
	// MaxManifestSize is the largest job.yaml read (1 MiB); bigger ones
	// are reported with ManifestFile.Err.
	MaxManifestSize = 1 << 20
	// MaxReadFileSize is the largest file ReadFile returns.
	MaxReadFileSize = 32 << 20
	// MaxTreeEntries bounds a walk over one commit's tree.
	MaxTreeEntries = 1_000_000
)

// ErrTreeTooLarge means a commit's tree has more than MaxTreeEntries
// entries.
var ErrTreeTooLarge = errors.New("tree too large")

// parseSHA checks that sha is a full commit id.
func parseSHA(sha string) (plumbing.Hash, error) {
	if len(sha) != 40 || !plumbing.IsHash(sha) {
		return plumbing.ZeroHash, fmt.Errorf("git: %q is not a full commit id", sha)
	}
	return plumbing.NewHash(sha), nil
}

// rootTree returns commit sha's tree hash, fetching the commit first if the
// cache lacks it. Missing commits wrap sync.ErrNotFound.
func (r *Repo) rootTree(ctx context.Context, sha string) (plumbing.Hash, error) {
	h, err := parseSHA(sha)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := r.ensureCommit(ctx, h); err != nil {
		if errors.Is(err, errCommitUnavailable) {
			return plumbing.ZeroHash, fmt.Errorf("git %s: commit %s: %w: %w", r.redacted, sha, engine.ErrNotFound, err)
		}
		return plumbing.ZeroHash, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := object.GetCommit(r.st, h)
	if err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return plumbing.ZeroHash, fmt.Errorf("git %s: commit %s: %w", r.redacted, sha, engine.ErrNotFound)
		}
		return plumbing.ZeroHash, fmt.Errorf("git %s: read commit %s: %w", r.redacted, sha, err)
	}
	return c.TreeHash, nil
}

// walkEntry is one non-tree entry met by walk.
type walkEntry struct {
	path string // slash-separated, relative to the root
	mode filemode.FileMode
	hash plumbing.Hash
}

// walk visits every non-tree entry under root, in path order, straight
// from the object store. It stops with ErrTreeTooLarge past
// MaxTreeEntries entries. Call with mu.
func (r *Repo) walk(ctx context.Context, root plumbing.Hash, visit func(walkEntry) error) error {
	type dir struct {
		prefix string
		hash   plumbing.Hash
	}
	stack := []dir{{"", root}}
	count := 0
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		t, err := object.GetTree(r.st, d.hash)
		if err != nil {
			return fmt.Errorf("read tree %s: %w", displayDir(d.prefix), err)
		}
		var sub []dir
		for _, e := range t.Entries {
			count++
			if count > MaxTreeEntries {
				return fmt.Errorf("%w: more than %d entries", ErrTreeTooLarge, MaxTreeEntries)
			}
			if count%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if !validName(e.Name) {
				return fmt.Errorf("tree %s has an invalid entry name %q", displayDir(d.prefix), e.Name)
			}
			p := d.prefix + e.Name
			if e.Mode == filemode.Dir {
				sub = append(sub, dir{p + "/", e.Hash})
				continue
			}
			if err := visit(walkEntry{p, e.Mode, e.Hash}); err != nil {
				return err
			}
		}
		// Push in reverse so that subtrees are visited in name order.
		for i := len(sub) - 1; i >= 0; i-- {
			stack = append(stack, sub[i])
		}
	}
	return nil
}

func displayDir(prefix string) string {
	if prefix == "" {
		return "/"
	}
	return prefix
}

// validName rejects tree entry names that could escape a directory when
// written out; git itself refuses them, but a crafted object may not.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// Manifests returns every job.yaml in commit sha's tree, read straight
// from the cache. Symlinks, submodules and files over MaxManifestSize named
// job.yaml are returned with Err set and no data.
func (r *Repo) Manifests(ctx context.Context, sha string) ([]engine.ManifestFile, error) {
	root, err := r.rootTree(ctx, sha)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []engine.ManifestFile
	err = r.walk(ctx, root, func(e walkEntry) error {
		if path.Base(e.path) != schema.ManifestName {
			return nil
		}
		data, err := r.readBlob(e, MaxManifestSize)
		if err != nil && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrNotRegular) {
			return err
		}
		out = append(out, engine.ManifestFile{Path: e.path, Data: data, Err: err})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("git %s: manifests at %s: %w", r.redacted, sha, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// readBlob reads a regular file's content, refusing other entry kinds and
// checking the size before reading anything. Call with mu.
func (r *Repo) readBlob(e walkEntry, limit int64) ([]byte, error) {
	switch e.mode {
	case filemode.Regular, filemode.Executable, filemode.Deprecated:
	case filemode.Symlink:
		return nil, fmt.Errorf("%s is a symlink: %w", e.path, ErrNotRegular)
	case filemode.Submodule:
		return nil, fmt.Errorf("%s is a submodule: %w", e.path, ErrNotRegular)
	default:
		return nil, fmt.Errorf("%s has mode %s: %w", e.path, e.mode, ErrNotRegular)
	}
	size, err := r.st.EncodedObjectSize(e.hash)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.path, err)
	}
	if size > limit {
		return nil, fmt.Errorf("%s is %d bytes, over the %d byte limit: %w", e.path, size, limit, ErrTooLarge)
	}
	b, err := object.GetBlob(r.st, e.hash)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.path, err)
	}
	rd, err := b.Reader()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.path, err)
	}
	defer rd.Close()
	data, err := io.ReadAll(io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is over the %d byte limit: %w", e.path, limit, ErrTooLarge)
	}
	return data, nil
}

// ReadFile returns the content of the regular file at path (slash-separated,
// relative to the repository root) in commit sha. Symlinks are not
// followed; files over MaxReadFileSize fail with ErrTooLarge; a missing
// path wraps sync.ErrNotFound.
func (r *Repo) ReadFile(ctx context.Context, sha, p string) ([]byte, error) {
	clean := path.Clean(strings.TrimPrefix(p, "./"))
	if p == "" || path.IsAbs(p) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return nil, fmt.Errorf("git: invalid path %q", p)
	}
	root, err := r.rootTree(ctx, sha)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t, err := object.GetTree(r.st, root)
	if err != nil {
		return nil, fmt.Errorf("git %s: read tree at %s: %w", r.redacted, sha, err)
	}
	e, err := t.FindEntry(clean)
	if err != nil {
		if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
			return nil, fmt.Errorf("git %s: %s at %s: %w", r.redacted, clean, sha, engine.ErrNotFound)
		}
		return nil, fmt.Errorf("git %s: %s at %s: %w", r.redacted, clean, sha, err)
	}
	if e.Mode == filemode.Dir {
		return nil, fmt.Errorf("git %s: %s at %s is a directory: %w", r.redacted, clean, sha, ErrNotRegular)
	}
	data, err := r.readBlob(walkEntry{clean, e.Mode, e.Hash}, MaxReadFileSize)
	if err != nil {
		return nil, fmt.Errorf("git %s: at %s: %w", r.redacted, sha, err)
	}
	return data, nil
}
