package local

import (
	"fmt"

	"github.com/gitlaunch/gitlaunch/render"
)

// full reports whether the file system holding path (in the data
// directory) has less room than Options.MinFree, and says so for a run's
// reason.
func (e *Executor) full(path string) (why string, full bool) {
	min := e.opts.MinFree
	if min < 0 {
		return "", false
	}
	free, err := freeSpace(path)
	if err != nil || free >= min {
		return "", false
	}
	return fmt.Sprintf("data directory full: %s has %s free, less than the %s the local executor keeps (local runs write their output and workspace there)",
		e.opts.DataDir, render.HumanSize(free), render.HumanSize(min)), true
}
