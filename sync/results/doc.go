// Package results reads what a finished run left behind, the same way for
// every executor: the artifacts that match the job's globs (with sizes,
// never following links out of the workspace) and its metrics, from the
// metrics file and from log lines matched by the job's patterns.
package results
