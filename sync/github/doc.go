// Package github connects gitlaunch to GitHub (and GitHub-compatible
// forges such as Gitea): a Reporter that posts a commit status per job and
// keeps one living comment per pull request, a webhook handler that turns
// pushes, pull request events and comment commands into engine calls, and
// Trust, the pull request inspector that decides which pull requests may
// run with the repository's secrets.
//
// Everything posted is redacted (sync/redact) with the repository's secret
// values and the configured tokens, each text before it is escaped for
// Markdown or HTML. The engine already redacted what the store holds; this
// is the second line of defence. Errors from the API are returned
// so that the engine's outbox retries them; RetryAfterError says when
// GitHub asked us to come back.
package github
