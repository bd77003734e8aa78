// Package git is gitlaunch's git Source: it watches one remote repository
// through a bare cache on disk, using go-git (no git binary is needed,
// except that file:// and local-path remotes run git-upload-pack the way
// the git CLI does).
//
// # Polling
//
// Poll asks the remote for its ref advertisement only (what `git
// ls-remote` shows) and compares it with the refs it remembers from the
// previous poll. An unchanged remote costs that one round trip and nothing
// else: the cache on disk is not touched. When refs changed, the commits
// that are not already in the cache are fetched in the same upload-pack
// session (one extra request over HTTP), refs that disappeared are
// deleted from the cache, and the cache's refs are updated. Only
// refs/heads/* and refs/pull/<n>/head are tracked; the cache mirrors them
// under the same names.
//
// # Shallow caches
//
// With Options.Shallow each newly fetched ref is fetched with depth 1.
// Manifests, ReadFile, Checkout and ChangedPaths only ever need the trees
// of the commits they are given, never their parents, so they work on a
// shallow cache as long as those commits are present. When a commit is not
// in the cache (a base that was never fetched, a cache that was wiped,
// history rewritten by a force-push), it is fetched by its id if the
// server allows that (allow-reachable-sha1-in-want or
// allow-tip-sha1-in-want, which GitHub and most forges advertise) or if it
// is still a ref's tip; otherwise ChangedPaths returns an error wrapping
// ErrHistoryUnavailable, which the planner treats as "everything changed".
//
// # Errors
//
// Every call to the remote is bounded by Options.Timeout (fetches by
// Options.FetchTimeout) and fails with a *RemoteError that names the
// remote by its redacted URL, says what went wrong (unreachable,
// authentication failed, not found, timed out) and whether trying again
// later may help. Credentials never appear in errors or logs.
//
// # Concurrency
//
// A Repo is safe for use by several goroutines; polls are serialized and
// reads of the cache are serialized with fetches. A cache directory must
// be used by one Repo (one process) at a time.
package git
