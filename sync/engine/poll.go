package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Polling a repository is a sequence of steps with one signature, run in
// order on one poll. A step that returns an error ends the poll: the remote
// could not be read, or what was planned before is unknown. A problem that
// leaves the rest meaningful (a manifest that cannot be read, a pull
// request that cannot be inspected) is noted on the poll, and the poll goes
// on. What the poll means for the repository (when to poll next, the
// error people see, in memory and in the store) is recorded in one place,
// recordPoll, after the steps.

// pollStep is one step of a poll.
type pollStep func(e *Engine, ctx context.Context, p *poll) error

// pollSteps are the steps of every poll, in order.
var pollSteps = []pollStep{
	(*Engine).fetchRefs,        // ask the remote for its refs; fetch those that changed
	(*Engine).observeRefs,      // remember its head and refs: planning and cron read them
	(*Engine).loadPlanned,      // the refs planned for before: memory, else the store
	(*Engine).cancelDeleted,    // runs still waiting on a deleted ref lose their reason
	(*Engine).planChanged,      // plan the runs each changed ref triggers
	(*Engine).savePlanned,      // remember what was planned for (the store only on change)
	(*Engine).refreshSchedules, // the default branch moved: reload its schedules
}

// poll is one poll of one repository in progress: what its steps read and
// fill in.
type poll struct {
	rs *repoState
	// req is the repository's count of poll requests (PollNow) when the
	// fetch began; a request after that asks for another poll.
	req     uint64
	now     time.Time // when the remote answered
	fetched bool      // the remote answered
	snap    RefSnapshot
	head    string            // the default branch
	old     map[string]string // refs planned for before this poll
	seen    bool              // old was stored: not the repository's first sight
	// retry are refs to plan for again at the next poll (their pull request
	// could not be inspected).
	retry    []string
	planned  []*Run
	problems []error
}

// note keeps a problem that does not end the poll.
func (p *poll) note(err error) {
	if err != nil {
		p.problems = append(p.problems, err)
	}
}

// PollRepo polls one repository and plans runs for what changed. On first
// sight of a repository its branch heads count as pushed (a new user sees
// their jobs run at once), never its history, and pull request refs are
// only remembered: on GitHub refs/pull/N/head stays forever, also for
// closed pull requests, so running them all would replay history.
func (e *Engine) PollRepo(ctx context.Context, name string) ([]*Run, error) {
	e.mu.Lock()
	rs, ok := e.repos[name]
	e.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("poll: repository %q is not watched", name)
	}
	p := &poll{rs: rs}
	var err error
	for _, step := range pollSteps {
		if err = step(e, ctx, p); err != nil {
			break
		}
	}
	return p.planned, e.recordPoll(ctx, p, err)
}

// recordPoll records what a poll means for its repository, and returns the
// poll's error. A remote that did not answer is retried with backoff and
// its error is kept (RepoError, Store.PollErrors) until a poll succeeds; a
// remote that answered is polled again after the interval. A PollNow during
// the poll (a webhook for a commit the fetch may have missed) asks for the
// next poll at once. The warnings of a poll that succeeded (refs it left
// out) are kept the same way as errors, as a PollWarning, while they last.
func (e *Engine) recordPoll(ctx context.Context, p *poll, err error) error {
	rs := p.rs
	var failed, warned *PollError
	e.mu.Lock()
	hadErr := rs.lastErr != nil
	hadWarning := rs.warning != ""
	if p.fetched {
		rs.failures, rs.lastErr, rs.failingSince = 0, nil, time.Time{}
		rs.nextPoll = p.now.Add(e.pollEvery)
		warning := ""
		if len(p.snap.Warnings) > 0 {
			warning = PollWarning + "some refs are not followed: " + strings.Join(p.snap.Warnings, "; ")
		}
		if warning != "" && rs.warning == "" {
			rs.warnSince = p.now
		}
		if warning != "" && (warning != rs.warning || hadErr) {
			warned = &PollError{Repo: rs.Name, Err: warning, Since: rs.warnSince}
		}
		rs.warning = warning
	} else {
		rs.failures++
		rs.lastErr = err
		rs.warning = "" // the error replaces it in the store
		if rs.failingSince.IsZero() {
			rs.failingSince = p.now
		}
		rs.nextPoll = p.now.Add(backoff(rs.failures, e.pollEvery, 10*time.Minute))
		failed = &PollError{Repo: rs.Name, Err: err.Error(), Since: rs.failingSince, NextTry: rs.nextPoll}
	}
	if rs.pollRequests != p.req {
		rs.nextPoll = time.Time{}
	}
	forget := p.fetched && rs.warning == "" && (hadErr || hadWarning)
	e.mu.Unlock()

	switch {
	case failed != nil:
		if serr := e.polls.PutPollError(ctx, *failed); serr != nil {
			e.log.Warn("store poll error", "repo", rs.Name, "err", serr)
		}
		return fmt.Errorf("poll %s: %w", rs.Name, err)
	case warned != nil:
		e.log.Warn("poll: some refs are not followed", "repo", rs.Name, "warnings", p.snap.Warnings)
		if serr := e.polls.PutPollError(ctx, *warned); serr != nil {
			e.log.Warn("store poll warning", "repo", rs.Name, "err", serr)
		}
	case forget:
		if serr := e.polls.DeletePollError(ctx, rs.Name); serr != nil {
			e.log.Warn("store poll error", "repo", rs.Name, "err", serr)
		}
	}
	return errors.Join(append([]error{err}, p.problems...)...)
}

// fetchRefs asks the remote for its refs and fetches those that changed.
func (e *Engine) fetchRefs(ctx context.Context, p *poll) error {
	e.mu.Lock()
	p.req = p.rs.pollRequests
	e.mu.Unlock()
	snap, err := p.rs.Source.Poll(ctx)
	p.now = e.clock.Now()
	if err != nil {
		return err
	}
	p.snap, p.fetched = snap, true
	return nil
}

// observeRefs remembers the remote's default branch and refs: planning
// matches jobs against that branch, and cron runs at its refs.
func (e *Engine) observeRefs(_ context.Context, p *poll) error {
	p.head = p.rs.DefaultBranch
	if p.head == "" {
		p.head = p.snap.Head
	}
	e.mu.Lock()
	p.rs.head, p.rs.refs = p.head, p.snap.Refs
	e.mu.Unlock()
	return nil
}

// loadPlanned finds the refs already planned for: read from the store once,
// then kept in memory, so an unchanged poll (the common case, for every
// repository every interval) costs no store I/O.
func (e *Engine) loadPlanned(ctx context.Context, p *poll) error {
	e.mu.Lock()
	p.old = p.rs.planned
	e.mu.Unlock()
	if p.old != nil {
		p.seen = true
		return nil
	}
	old, seen, err := e.polls.PlannedRefs(ctx, p.rs.Name)
	if err != nil {
		return err
	}
	p.old, p.seen = old, seen
	return nil
}

// cancelDeleted cancels what still waits or runs on a deleted ref: it has
// lost its reason.
func (e *Engine) cancelDeleted(ctx context.Context, p *poll) error {
	for ref := range p.old {
		if _, ok := p.snap.Refs[ref]; !ok {
			p.note(e.cancelRef(ctx, p.rs.Name, ref, "ref "+ref+" was deleted"))
		}
	}
	return nil
}

// planChanged plans the runs that each changed ref triggers.
func (e *Engine) planChanged(ctx context.Context, p *poll) error {
	for _, ev := range diffRefs(p.rs.Name, p.head, p.old, p.seen, p.snap.Refs) {
		if ev.Trigger == TriggerPullRequest && e.prs != nil && p.rs.GitHub != "" {
			info, err := e.prs.InspectPR(ctx, p.rs.Repo, ev.PR, ev.After)
			if err != nil {
				// Forget we saw it, so the next poll asks again.
				p.note(fmt.Errorf("pull request #%d: %w", ev.PR, err))
				p.retry = append(p.retry, ev.Ref)
				continue
			}
			if !info.Open {
				continue
			}
			ev.Base, ev.Branch, ev.Untrusted = info.Base, info.Branch, !info.Trusted
			if b := p.snap.Refs["refs/heads/"+info.Base]; b != "" {
				ev.Before = b
			}
		}
		runs, err := e.Submit(ctx, ev)
		p.note(err)
		p.planned = append(p.planned, runs...)
	}
	return nil
}

// savePlanned remembers the refs planned for, in memory and, when they
// changed, in the store.
func (e *Engine) savePlanned(ctx context.Context, p *poll) error {
	planned := p.snap.Refs
	if len(p.retry) > 0 {
		planned = maps.Clone(p.snap.Refs)
		for _, ref := range p.retry {
			if prev, ok := p.old[ref]; ok {
				planned[ref] = prev
			} else {
				delete(planned, ref)
			}
		}
	}
	var keep map[string]string // nil: read the store again next time
	if p.seen {
		keep = p.old
	}
	if !p.seen || !maps.Equal(p.old, planned) {
		if err := e.polls.SavePlannedRefs(ctx, p.rs.Name, planned); err != nil {
			p.note(err)
		} else {
			keep = planned
		}
	}
	e.mu.Lock()
	p.rs.planned = keep
	e.mu.Unlock()
	return nil
}

// refreshSchedules reloads the schedules when the default branch's head is
// not the commit they were loaded from.
func (e *Engine) refreshSchedules(ctx context.Context, p *poll) error {
	sha := p.snap.Refs["refs/heads/"+p.head]
	e.mu.Lock()
	loaded := p.rs.schedulesAt
	e.mu.Unlock()
	if sha != "" && sha != loaded {
		p.note(e.loadSchedules(ctx, p.rs, sha))
	}
	return nil
}

// diffRefs turns the change between two ref sets into events, sorted by
// ref so that planning is deterministic.
func diffRefs(repo, head string, old map[string]string, seen bool, refs map[string]string) []Event {
	var evs []Event
	for ref, sha := range refs {
		prev, had := old[ref]
		if had && prev == sha {
			continue
		}
		if b := BranchOf(ref); b != "" {
			before := prev
			if !seen {
				before = ""
			}
			evs = append(evs, Event{Repo: repo, Trigger: TriggerPush, Ref: ref, Branch: b, Before: before, After: sha, Key: ref})
			continue
		}
		if n, ok := PullNumber(ref); ok && seen {
			evs = append(evs, Event{Repo: repo, Trigger: TriggerPullRequest, Ref: ref, PR: n, Base: head,
				Before: refs["refs/heads/"+head], After: sha, Key: ref})
		}
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].Ref < evs[j].Ref })
	return evs
}

// PullNumber parses refs/pull/N/head.
func PullNumber(ref string) (int, bool) {
	rest, ok := strings.CutPrefix(ref, "refs/pull/")
	if !ok {
		return 0, false
	}
	num, ok := strings.CutSuffix(rest, "/head")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil && n > 0
}

// backoff is exponential with full jitter: a flapping remote is retried
// soon, a dead one rarely, and many repositories never retry in lockstep.
func backoff(failures int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d/2 + rand.N(d/2+1)
}
