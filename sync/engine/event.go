package engine

// Event is something that may start runs: a push, a pull request update, a
// cron slot, a comment command or a manual trigger.
type Event struct {
	Repo    string
	Trigger Trigger
	// Ref is the full ref the commit was seen at (refs/heads/main,
	// refs/pull/7/head).
	Ref string
	// Before is the commit the ref pointed at before; "" when unknown (first
	// sight of a repository, a new branch), in which case every job counts
	// as changed.
	Before string
	After  string // the commit to run
	PR     int
	Base   string // a pull request's target branch
	Branch string // the pushed branch, or a pull request's head branch
	// Key distinguishes runs of one job at one commit (cron slot, comment
	// id, manual nonce). Push and pull request events use the ref.
	Key string
	// Jobs limits the event to these job names (comment commands, manual
	// runs); empty means every job whose triggers match.
	Jobs []string
	// Force skips trigger matching (manual runs and comment commands run
	// what they name regardless of `on:`).
	Force     bool
	Untrusted bool
}
