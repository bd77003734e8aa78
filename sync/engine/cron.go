package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Missed-slot policy: when the syncer was down (or busy) across one or more
// slots of a schedule, only the latest missed slot runs, once, and only if
// it is at most the deadline old (Config.Sync.MissedScheduleDeadline,
// default 1h); older slots are skipped with a log line. A schedule seen for
// the first time starts counting from now: it never fires for slots before
// it existed.

const defaultMissedDeadline = time.Hour

// scheduleEntry is one `on.schedule` item of a job on the default branch.
type scheduleEntry struct {
	key     CronKey
	jobName string
	loc     *time.Location
	sched   cron.Schedule
	// last is the last slot handled (or when the schedule was first seen),
	// as stored under key; kept here so the once-a-second check reads no
	// state. Guarded by Engine.mu.
	last time.Time
}

// loadSchedules registers the schedules of the jobs at sha (the default
// branch head), replacing the previous set: schedules follow the manifests
// as they change.
func (e *Engine) loadSchedules(ctx context.Context, rs *repoState, sha string) error {
	files, err := rs.Source.Manifests(ctx, sha)
	if err != nil {
		return fmt.Errorf("schedules of %s: %w", rs.Name, err)
	}
	entries := []*scheduleEntry{}
	now := e.clock.Now()
	for _, pj := range e.parse(files) {
		if pj.job == nil || pj.job.On == nil {
			continue
		}
		for _, s := range pj.job.On.Schedule {
			loc, err := time.LoadLocation(s.Timezone)
			if err != nil {
				continue // validation already refused it
			}
			sched, err := cron.ParseStandard(s.Cron)
			if err != nil {
				continue
			}
			en := &scheduleEntry{jobName: pj.job.Name, loc: loc, sched: sched, key: CronKey{
				Repo: rs.Name, JobPath: pj.path, Branch: s.Branch, Timezone: loc.String(), Spec: s.Cron}}
			if en.key.Branch == "" {
				en.key.Branch = e.defaultBranch(rs.Repo)
			}
			// First sight: count from now, so a new schedule never fires
			// for slots before it existed.
			last, ok, err := e.crons.CronSlot(ctx, en.key)
			if err != nil {
				return err
			}
			en.last = last
			if !ok {
				en.last = now
				if err := e.crons.PutCronSlot(ctx, en.key, now); err != nil {
					return err
				}
			}
			entries = append(entries, en)
		}
	}
	e.mu.Lock()
	rs.schedules, rs.schedulesAt = entries, sha
	e.mu.Unlock()
	e.log.Debug("schedules loaded", "repo", rs.Name, "count", len(entries))
	return nil
}

// Cron fires the schedule slots that are due, by the engine's clock.
func (e *Engine) Cron(ctx context.Context) {
	now := e.clock.Now()
	deadline := e.cfg.Sync.MissedScheduleDeadline.Duration
	if deadline <= 0 {
		deadline = defaultMissedDeadline
	}
	e.mu.Lock()
	type due struct {
		rs *repoState
		en *scheduleEntry
	}
	var all []due
	for _, name := range e.order {
		rs := e.repos[name]
		for _, en := range rs.schedules {
			all = append(all, due{rs, en})
		}
	}
	e.mu.Unlock()
	for _, d := range all {
		if err := e.fireSlot(ctx, d.rs, d.en, now, deadline); err != nil {
			e.log.Warn("schedule", "repo", d.rs.Name, "job", d.en.jobName, "cron", d.en.key.Spec, "err", err)
		}
	}
}

func (e *Engine) fireSlot(ctx context.Context, rs *repoState, en *scheduleEntry, now time.Time, deadline time.Duration) error {
	e.mu.Lock()
	last := en.last
	e.mu.Unlock()
	// Walk slots after the last handled one, but never further back than
	// the deadline: older slots would be skipped anyway.
	from := last
	if lim := now.Add(-deadline - time.Second); from.Before(lim) {
		from = lim
	}
	var slot time.Time
	for t := en.sched.Next(from.In(en.loc)); !t.After(now); t = en.sched.Next(t) {
		slot = t
	}
	if slot.IsZero() {
		if last.Before(now.Add(-deadline)) {
			e.log.Info("skipped schedule slots missed beyond the deadline", "repo", rs.Name, "job", en.jobName, "since", last)
			return e.handled(ctx, en, now)
		}
		return nil
	}
	e.mu.Lock()
	sha := rs.refs["refs/heads/"+en.key.Branch]
	e.mu.Unlock()
	if sha == "" {
		e.log.Warn("schedule names a branch the remote does not have", "repo", rs.Name, "job", en.jobName, "branch", en.key.Branch)
	} else {
		ev := Event{Repo: rs.Name, Trigger: TriggerSchedule, Ref: "refs/heads/" + en.key.Branch, Branch: en.key.Branch,
			After: sha, Key: slot.UTC().Format(time.RFC3339), Jobs: []string{en.jobName}, Force: true}
		if _, err := e.Submit(ctx, ev); err != nil {
			return err
		}
	}
	return e.handled(ctx, en, slot)
}

// handled records t as the schedule's last handled slot, in the store
// first (restarts see it), then in memory.
func (e *Engine) handled(ctx context.Context, en *scheduleEntry, t time.Time) error {
	if err := e.crons.PutCronSlot(ctx, en.key, t); err != nil {
		return err
	}
	e.mu.Lock()
	en.last = t
	e.mu.Unlock()
	return nil
}
