package engine

import "github.com/gitlaunch/gitlaunch/schema"

// KeptJob is the parsed job the engine keeps for run id, nil when none.
func KeptJob(e *Engine, id string) *schema.Job {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.jobs[id]
}
