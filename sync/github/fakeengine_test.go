package github

import (
	"context"
	"fmt"
	"slices"
	"strings"
	gosync "sync"

	"github.com/gitlaunch/gitlaunch/sync"
)

// recordingEngine implements our Engine interface and records each call.
// It knows one repository, octo-org/models, with jobs mnist and resnet.
type recordingEngine struct {
	mu      gosync.Mutex
	repo    *sync.Repo
	calls   []string
	events  []sync.Event
	waiting map[string][]*sync.Run // sha → waiting runs for Approve
	active  []*sync.Run            // for CancelPR
}

func newRecordingEngine() *recordingEngine {
	return &recordingEngine{repo: repoFixture(), waiting: map[string][]*sync.Run{}}
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

func (e *recordingEngine) PollRepo(_ context.Context, name string) ([]*sync.Run, error) {
	e.record("PollRepo %s", name)
	return nil, nil
}

func (e *recordingEngine) RepoByGitHub(fullName string) (*sync.Repo, bool) {
	if strings.EqualFold(fullName, e.repo.GitHub) {
		return e.repo, true
	}
	return nil, false
}

func (e *recordingEngine) Submit(_ context.Context, ev sync.Event) ([]*sync.Run, error) {
	e.record("Submit %s %s pr=%d sha=%s jobs=%v force=%v untrusted=%v", ev.Trigger, ev.Ref, ev.PR, sync.ShortSHA(ev.After), ev.Jobs, ev.Force, ev.Untrusted)
	e.mu.Lock()
	e.events = append(e.events, ev)
	e.mu.Unlock()
	var runs []*sync.Run
	for _, j := range []string{"mnist", "resnet"} {
		if len(ev.Jobs) == 0 || slices.Contains(ev.Jobs, j) {
			runs = append(runs, &sync.Run{ID: j + "-run", JobName: j, SHA: ev.After, PR: ev.PR})
		}
	}
	return runs, nil
}

func (e *recordingEngine) CancelPR(_ context.Context, repo string, pr int, jobs []string, reason string) ([]*sync.Run, error) {
	e.record("CancelPR %s %d %v %q", repo, pr, jobs, reason)
	var out []*sync.Run
	for _, r := range e.active {
		if len(jobs) == 0 || slices.Contains(jobs, r.JobName) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (e *recordingEngine) Approve(_ context.Context, repo string, pr int, sha string) ([]*sync.Run, error) {
	e.record("Approve %s %d %s", repo, pr, sync.ShortSHA(sha))
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.waiting[sha], nil
}

var _ Engine = (*sync.Engine)(nil)
var _ sync.PRInspector = (*Trust)(nil)
var _ sync.Reporter = (*Reporter)(nil)
