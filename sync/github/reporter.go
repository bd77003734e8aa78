package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/redact"
)

// CommentMarker starts the one comment gitlaunch keeps per pull request;
// it finds the comment again after a restart.
const CommentMarker = "<!-- gitlaunch:pr-comment -->"

// RunStore is what the reporter reads from the run store.
type RunStore interface {
	ListRuns(ctx context.Context, f engine.RunFilter) ([]*engine.Run, error)
	// LatestSucceeded is the newest succeeded run of a job on a branch; an
	// error wrapping engine.ErrNotFound when there is none.
	LatestSucceeded(ctx context.Context, repo, jobPath, branch string) (*engine.Run, error)
	OpenLog(ctx context.Context, runID string, off int64) (io.ReadCloser, error)
	LogSize(ctx context.Context, runID string) (int64, error)
}

// RepoLookup finds a watched repository by its short name (the engine's
// Repo method).
type RepoLookup func(name string) (*engine.Repo, bool)

// ReporterOptions configure a Reporter.
type ReporterOptions struct {
	Client *gh.Client // required
	Repos  RepoLookup // required
	Store  RunStore   // required
	// BaseURL is the public URL of the syncer's dashboard; run pages are
	// BaseURL/runs/<id>. Empty: statuses and comments carry no links.
	BaseURL string
	// Template renders the pull request comment; nil = the embedded one.
	Template *render.CommentTemplate
	// Secrets are values hidden in everything posted besides each
	// repository's secret values: the API token, the webhook secret, git
	// tokens.
	Secrets []string
	// Login is the token's user, whose comment carries the marker; empty:
	// asked of the API once (GitHub App installation tokens cannot ask;
	// then the marker alone identifies the comment).
	Login string
	// TailLines and TailBytes bound a failed run's log tail (default 50
	// lines, 4 KiB).
	TailLines, TailBytes int
	// MaxArtifacts listed per job (default 20); MaxProblems likewise (50).
	MaxArtifacts, MaxProblems int
	Now                       func() time.Time
	Logger                    *slog.Logger
}

// Reporter posts runs to GitHub: a commit status per job and one comment
// per pull request. It implements engine.Reporter.
type Reporter struct {
	o      ReporterOptions
	tmpl   *render.CommentTemplate
	prs    keyedMutex
	cached *lru[string, cachedComment] // "owner/name#pr" → our comment

	loginMu    sync.Mutex
	login      string
	loginKnown bool
}

type cachedComment struct {
	id   int64
	body string
}

// NewReporter checks opts and returns a reporter.
func NewReporter(opts ReporterOptions) (*Reporter, error) {
	if opts.Client == nil || opts.Repos == nil || opts.Store == nil {
		return nil, errors.New("github reporter: client, repos and store are required")
	}
	if opts.TailLines <= 0 {
		opts.TailLines = 50
	}
	if opts.TailBytes <= 0 {
		opts.TailBytes = 4096
	}
	if opts.MaxArtifacts <= 0 {
		opts.MaxArtifacts = 20
	}
	if opts.MaxProblems <= 0 {
		opts.MaxProblems = 50
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	r := &Reporter{o: opts, tmpl: opts.Template, cached: newLRU[string, cachedComment](10000)}
	if r.tmpl == nil {
		r.tmpl = render.DefaultCommentTemplate()
	}
	if opts.Login != "" {
		r.login, r.loginKnown = opts.Login, true
	}
	return r, nil
}

// Name implements engine.Reporter.
func (*Reporter) Name() string { return "github" }

// Report implements engine.Reporter: it posts the run's commit status and,
// for a pull request, brings its comment up to date. Runs of repositories
// without a GitHub name are not reported.
func (rep *Reporter) Report(ctx context.Context, r *engine.Run) error {
	repo, ok := rep.o.Repos(r.Repo)
	if !ok || repo.GitHub == "" {
		return nil
	}
	owner, name, err := splitFullName(repo.GitHub)
	if err != nil {
		return err
	}
	red := rep.redactor(repo)
	if err := rep.postStatus(ctx, owner, name, r, red); err != nil {
		return err
	}
	if r.PR > 0 {
		return rep.updateComment(ctx, repo, owner, name, r, red)
	}
	return nil
}

func (rep *Reporter) redactor(repo *engine.Repo) *redact.Redactor {
	return redactorFor(repo, rep.o.Secrets)
}

func (rep *Reporter) runURL(id string) string {
	if rep.o.BaseURL == "" {
		return ""
	}
	return rep.o.BaseURL + "/runs/" + id
}

// StatusState maps a run state to a commit status state. Cancelled runs
// are "error": nothing is wrong with the commit, but it was not tested
// either, and GitHub's statuses have no neutral state.
func StatusState(s engine.State) string {
	switch s {
	case engine.StateSucceeded:
		return "success"
	case engine.StateFailed, engine.StateTimedOut, engine.StateInvalid:
		return "failure"
	case engine.StateError, engine.StateCancelled:
		return "error"
	}
	return "pending" // queued, waiting, pending, running
}

// StatusContext is the commit status context of a job.
func StatusContext(job string) string { return "gitlaunch/" + job }

func (rep *Reporter) postStatus(ctx context.Context, owner, name string, r *engine.Run, red *redact.Redactor) error {
	// Redacted before StatusDescription puts the reason and the metric
	// name together with other text.
	sd := render.StatusData{State: string(r.State), Reason: red.String(r.Reason), Duration: r.Duration(rep.o.Now())}
	if m := headline(r.Metrics); m != nil {
		if r.Base != "" {
			base, err := rep.baseline(ctx, r, r.Base)
			if err != nil {
				return err
			}
			if v, ok := base[m.Name]; ok {
				m.Base, m.HasBase = v, true
			}
		}
		m.Name = red.String(m.Name)
		sd.Headline = m
	}
	desc := render.TruncateRunes(red.String(render.StatusDescription(sd)), render.StatusLimit)
	st := &gh.RepoStatus{
		State:       gh.String(StatusState(r.State)),
		Context:     gh.String(StatusContext(r.JobName)),
		Description: gh.String(desc),
	}
	if u := rep.runURL(r.ID); u != "" {
		st.TargetURL = gh.String(u)
	}
	_, _, err := rep.o.Client.Repositories.CreateStatus(ctx, owner, name, r.SHA, st)
	return classify(fmt.Sprintf("status %s for %s/%s@%s", StatusContext(r.JobName), owner, name, engine.ShortSHA(r.SHA)), err, rep.o.Now())
}

// headline is the metric a status shows: the first by name.
func headline(m map[string]float64) *render.Metric {
	if len(m) == 0 {
		return nil
	}
	k := slices.Min(slices.Collect(maps.Keys(m)))
	return &render.Metric{Name: k, Value: m[k]}
}

// baseline returns the metrics of the latest successful run of r's job on
// branch, or nil when there is none.
func (rep *Reporter) baseline(ctx context.Context, r *engine.Run, branch string) (map[string]float64, error) {
	b, err := rep.o.Store.LatestSucceeded(ctx, r.Repo, r.JobPath, branch)
	if errors.Is(err, engine.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("baseline of %s on %s: %w", r.JobPath, branch, err)
	}
	return b.Metrics, nil
}
