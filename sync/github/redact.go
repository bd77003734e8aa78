package github

import (
	"maps"
	"slices"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/redact"
)

// redactorFor hides a repository's secrets and the syncer's own hidden
// values (token, webhook secret) in everything posted: the same rules
// (sync/redact) the engine applies where a run's output enters the store,
// kept here too for text the store never saw (comment command replies)
// and stored before redaction existed.
func redactorFor(repo *engine.Repo, hidden []string) *redact.Redactor {
	var vals []string
	if repo != nil {
		vals = slices.Collect(maps.Values(repo.Secrets))
	}
	return redact.New(append(vals, hidden...)...)
}
