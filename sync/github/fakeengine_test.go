package github

import (
	"context"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"slices"
	"strings"
	"sync"
)

// recordingEngine implements our Engine interface and records each call.
// It knows one repository, octo-org/models, with jobs mnist and resnet.
type recordingEngine struct {
	mu      sync.Mutex
	repo    *engine.Repo
	calls   []string
	events  []engine.Event
	waiting map[string][]*engine.Run // sha → waiting runs for Approve
	active  []*engine.Run            // for CancelPR
	// pollBlocks makes PollRepo wait for its context to end, as a poll
	// of a slow remote would at shutdown.
	pollBlocks bool
}

func newRecordingEngine() *recordingEngine {
	return &recordingEngine{repo: repoFixture(), waiting: map[string][]*engine.Run{}}
}

func (e *recordingEngine) record(format string, args ...any) {
	e.mu.Lock()
	e.calls = append(e.calls, fmt.Sprintf(format, args...))
	e.mu.Unlock()
}

func (e *recordingEngine) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

func (e *recordingEngine) PollNow(name string) bool {
	e.record("PollNow %s", name)
	return name == e.repo.Name
}

func (e *recordingEngine) PollRepo(ctx context.Context, name string) ([]*engine.Run, error) {
	e.record("PollRepo %s", name)
	if e.pollBlocks {
		<-ctx.Done()
		return nil, fmt.Errorf("poll %s: %w", name, ctx.Err())
	}
	return nil, nil
}

func (e *recordingEngine) RepoByGitHub(fullName string) (*engine.Repo, bool) {
	if strings.EqualFold(fullName, e.repo.GitHub) {
		return e.repo, true
	}
	return nil, false
}

func (e *recordingEngine) Submit(_ context.Context, ev engine.Event) ([]*engine.Run, error) {
	e.record("Submit %s %s pr=%d sha=%s jobs=%v force=%v untrusted=%v", ev.Trigger, ev.Ref, ev.PR, engine.ShortSHA(ev.After), ev.Jobs, ev.Force, ev.Untrusted)
	e.mu.Lock()
	e.events = append(e.events, ev)
	e.mu.Unlock()
	var runs []*engine.Run
	for _, j := range []string{"mnist", "resnet"} {
		if len(ev.Jobs) == 0 || slices.Contains(ev.Jobs, j) {
			runs = append(runs, &engine.Run{ID: j + "-run", JobName: j, SHA: ev.After, PR: ev.PR})
		}
	}
	return runs, nil
}

func (e *recordingEngine) CancelPR(_ context.Context, repo string, pr int, jobs []string, reason string) ([]*engine.Run, error) {
	e.record("CancelPR %s %d %v %q", repo, pr, jobs, reason)
	var out []*engine.Run
	for _, r := range e.active {
		if len(jobs) == 0 || slices.Contains(jobs, r.JobName) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (e *recordingEngine) Approve(_ context.Context, repo string, pr int, sha string) ([]*engine.Run, error) {
	e.record("Approve %s %d %s", repo, pr, engine.ShortSHA(sha))
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.waiting[sha], nil
}

var _ Engine = (*engine.Engine)(nil)
var _ engine.PRInspector = (*Trust)(nil)
var _ engine.Reporter = (*Reporter)(nil)
