package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// RemoveWorkspace deletes a finished run's folder on this machine: its
// workspace, output file and state files, and the folders of its earlier
// attempts. The retention policy calls it for old runs; the store keeps
// their summary. A run still followed, starting or alive is refused; a run
// without a folder is nothing to do.
func (e *Executor) RemoveWorkspace(ctx context.Context, runID string) error {
	if !runIDPattern.MatchString(runID) {
		return fmt.Errorf("remove workspace of %q: %w", runID, engine.ErrNotFound)
	}
	e.mu.Lock()
	busy := e.following[runID] != nil || e.starting[runID] != nil
	e.mu.Unlock()
	d := e.dir(runID)
	if info, err := d.readProcessInfo(); err == nil && alive(info.PID, info.ProcStart) {
		busy = true
	}
	if busy {
		return fmt.Errorf("remove workspace of run %s: it is in progress", runID)
	}
	attempts, err := filepath.Glob(string(d) + ".attempt-*")
	if err != nil {
		return err
	}
	for _, p := range append([]string{string(d)}, attempts...) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := removeAll(p); err != nil {
			return fmt.Errorf("remove workspace of run %s: %w", runID, err)
		}
	}
	return nil
}

// removeAll is os.RemoveAll that also removes what a job made read-only
// (a folder without write permission cannot be emptied by its owner).
func removeAll(path string) error {
	err := os.RemoveAll(path)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(path)
}
