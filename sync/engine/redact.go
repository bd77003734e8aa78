package engine

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/gitlaunch/gitlaunch/sync/redact"
)

// Everything a run stores for people to read is redacted on its way into
// the store, so that every surface (dashboard, API, CLI, commit status,
// pull request comment) shows *** where a secret was: its log, through the
// Sink, and its reason, problems, metric and artifact names, through the
// RunStore. The secrets of a run are its repository's Secrets and the
// syncer-wide Options.Hidden.

// redactors keeps one redactor per repository and one log stream per run
// whose output is arriving.
type redactors struct {
	hidden []string

	mu      sync.Mutex
	byRepo  map[string]*redact.Redactor
	streams map[string]*logStream // by run ID
}

// logStream is the redacted log of one run in progress: tail holds the end
// of the output that may be the start of a secret, until the next chunk
// (or the run's end) shows whether it is one.
type logStream struct {
	red *redact.Redactor

	mu     sync.Mutex
	tail   redact.Tail
	closed bool // flushed: later output is redacted chunk by chunk
}

func newRedactors(hidden []string) *redactors {
	return &redactors{hidden: slices.Clone(hidden), byRepo: map[string]*redact.Redactor{}, streams: map[string]*logStream{}}
}

// redactor hides the secrets of the repository's runs.
func (e *Engine) redactor(repo string) *redact.Redactor {
	e.mu.Lock()
	var secrets []string
	if rs, ok := e.repos[repo]; ok {
		secrets = slices.Collect(maps.Values(rs.Secrets))
	}
	e.mu.Unlock()
	rd := e.red
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if r, ok := rd.byRepo[repo]; ok {
		return r
	}
	r := redact.New(append(secrets, rd.hidden...)...)
	rd.byRepo[repo] = r
	return r
}

// redactRun hides secrets in what r shows people. Manifest is kept as it
// is: retries parse it again, and it came from the repository, not the run.
func (e *Engine) redactRun(r *Run) {
	red := e.redactor(r.Repo)
	r.Reason = red.String(r.Reason)
	for i := range r.Problems {
		p := &r.Problems[i]
		p.File, p.Field, p.Message, p.Allowed = red.String(p.File), red.String(p.Field), red.String(p.Message), red.String(p.Allowed)
	}
	for i := range r.Artifacts {
		r.Artifacts[i].Path = red.String(r.Artifacts[i].Path)
	}
	if len(r.Metrics) > 0 {
		m := make(map[string]float64, len(r.Metrics))
		for _, k := range slices.Sorted(maps.Keys(r.Metrics)) {
			rk := red.String(k)
			if _, dup := m[rk]; !dup { // two hidden names: the first by name stays
				m[rk] = r.Metrics[k]
			}
		}
		r.Metrics = m
	}
}

// redactingRuns is the run store as the engine writes it: every run is
// redacted before it is saved.
type redactingRuns struct {
	RunStore
	e *Engine
}

func (s redactingRuns) CreateRun(ctx context.Context, r *Run, reporters []string) (bool, error) {
	s.e.redactRun(r)
	return s.RunStore.CreateRun(ctx, r, reporters)
}

func (s redactingRuns) UpdateRun(ctx context.Context, r *Run, reporters []string) error {
	s.e.redactRun(r)
	return s.RunStore.UpdateRun(ctx, r, reporters)
}

// appendLog redacts a chunk of a run's output and stores what can be
// released now. A chunk the store refused leaves the stream as it was, so
// the executor's retry of the same chunk is redacted the same way.
func (e *Engine) appendLog(ctx context.Context, runID string, p []byte) error {
	ls, err := e.logStream(ctx, runID)
	if err != nil {
		return err
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.closed {
		return e.logs.AppendLog(ctx, runID, ls.red.Bytes(p))
	}
	out, tail := ls.red.Write(ls.tail, p)
	if err := e.logs.AppendLog(ctx, runID, out); err != nil {
		return err
	}
	ls.tail = tail
	return nil
}

// logStream finds or starts the log stream of a run. Output for a run that
// already ended (late lines) gets a closed stream that is not kept.
func (e *Engine) logStream(ctx context.Context, runID string) (*logStream, error) {
	rd := e.red
	rd.mu.Lock()
	ls, ok := rd.streams[runID]
	rd.mu.Unlock()
	if ok {
		return ls, nil
	}
	r, err := e.runs.GetRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	ls = &logStream{red: e.redactor(r.Repo), closed: r.State.Terminal()}
	if ls.closed {
		return ls, nil
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if prev, ok := rd.streams[runID]; ok {
		return prev, nil
	}
	rd.streams[runID] = ls
	return ls, nil
}

// flushLog stores what the run's log stream held back: the run (or this
// attempt) ended, no more output will complete a secret.
func (e *Engine) flushLog(ctx context.Context, runID string) {
	rd := e.red
	rd.mu.Lock()
	ls, ok := rd.streams[runID]
	delete(rd.streams, runID)
	rd.mu.Unlock()
	if !ok {
		return
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.closed = true
	if rest := ls.red.Flush(ls.tail); len(rest) > 0 {
		if err := e.logs.AppendLog(ctx, runID, rest); err != nil {
			e.log.Error("store the end of a run's log", "run", runID, "bytes", len(rest), "err", err)
		}
	}
	ls.tail = redact.Tail{}
}
