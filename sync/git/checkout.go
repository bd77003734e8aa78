package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Checkout writes commit sha's tree into dest, which must not exist or be
// an empty directory, straight from the cache: no .git directory, no
// index, nothing but the tree. Files get 0644 or 0755, symlinks are
// written as symlinks (never followed: every write goes through an
// os.Root, so no entry can land outside dest), submodules become empty
// directories. Entry names such as ".." or ".git" are refused. A full disk
// fails with ErrDiskFull.
func (r *Repo) Checkout(ctx context.Context, sha, dest string) error {
	root, err := r.rootTree(ctx, sha)
	if err != nil {
		return err
	}
	if err := prepareDest(dest); err != nil {
		return fmt.Errorf("git checkout %s: %w", sha, err)
	}
	out, err := os.OpenRoot(dest)
	if err != nil {
		return fmt.Errorf("git checkout %s: %w", sha, err)
	}
	defer out.Close()

	r.mu.Lock()
	defer r.mu.Unlock()
	made := map[string]bool{"": true}
	err = r.walk(ctx, root, func(e walkEntry) error {
		if err := mkdirs(out, path.Dir(e.path), made); err != nil {
			return err
		}
		return r.writeEntry(out, e)
	})
	if err != nil {
		return fmt.Errorf("git %s: checkout %s into %s: %w", r.redacted, sha, dest, diskFull(err))
	}
	return nil
}

// prepareDest creates dest, or accepts it when it is an empty directory.
func prepareDest(dest string) error {
	entries, err := os.ReadDir(dest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return diskFull(os.MkdirAll(dest, 0o755))
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty", dest)
	}
	return nil
}

// mkdirs creates dir and its parents inside out, once each.
func mkdirs(out *os.Root, dir string, made map[string]bool) error {
	if dir == "." {
		dir = ""
	}
	if made[dir] {
		return nil
	}
	if err := mkdirs(out, path.Dir(dir), made); err != nil {
		return err
	}
	if path.Base(dir) == ".git" {
		return fmt.Errorf("refusing to write %s", dir)
	}
	if err := out.Mkdir(dir, 0o755); err != nil {
		return err
	}
	made[dir] = true
	return nil
}

// writeEntry writes one non-tree entry. Call with mu.
func (r *Repo) writeEntry(out *os.Root, e walkEntry) error {
	if path.Base(e.path) == ".git" {
		return fmt.Errorf("refusing to write %s", e.path)
	}
	switch e.mode {
	case filemode.Submodule:
		return out.Mkdir(e.path, 0o755)
	case filemode.Symlink:
		target, err := r.blobString(e)
		if err != nil {
			return err
		}
		return out.Symlink(target, e.path)
	case filemode.Regular, filemode.Deprecated, filemode.Executable:
	default:
		return fmt.Errorf("%s has unsupported mode %s", e.path, e.mode)
	}
	perm := os.FileMode(0o644)
	if e.mode == filemode.Executable {
		perm = 0o755
	}
	b, err := object.GetBlob(r.st, e.hash)
	if err != nil {
		return fmt.Errorf("%s: %w", e.path, err)
	}
	rd, err := b.Reader()
	if err != nil {
		return fmt.Errorf("%s: %w", e.path, err)
	}
	defer rd.Close()
	// O_EXCL: a name written twice (a crafted tree) is an error, never an
	// overwrite through whatever the first one was.
	f, err := out.OpenFile(e.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rd); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", e.path, err)
	}
	return f.Close()
}

// blobString reads a small blob, such as a symlink target.
func (r *Repo) blobString(e walkEntry) (string, error) {
	data, err := r.readBlob(walkEntry{e.path, filemode.Regular, e.hash}, 4096)
	if err != nil {
		return "", err
	}
	return string(data), nil
}
