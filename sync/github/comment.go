package github

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/redact"
)

// updateComment renders the pull request's comment for its current head
// commit and creates or edits it. Per pull request, one update at a time:
// two runs finishing at once never create two comments.
func (rep *Reporter) updateComment(ctx context.Context, repo *engine.Repo, owner, name string, r *engine.Run, red *redact.Redactor) error {
	key := fmt.Sprintf("%s/%s#%d", strings.ToLower(owner), strings.ToLower(name), r.PR)
	unlock := rep.prs.Lock(key)
	defer unlock()

	head, base, err := rep.prHead(ctx, owner, name, r)
	if err != nil {
		return err
	}
	data, err := rep.commentData(ctx, repo, r.PR, head, base, red)
	if err != nil {
		return err
	}
	cached, known := rep.cached.Get(key)
	if !known {
		// After a restart, or for a new pull request: find ours, if any.
		id, found, err := rep.findComment(ctx, owner, name, r.PR)
		if err != nil {
			return err
		}
		if id != 0 {
			cached, known = cachedComment{id: id, body: found}, true
			rep.cached.Put(key, cached)
		}
	}
	if len(data.Jobs) == 0 && !known {
		// Nothing runs at the head commit and nothing was said: stay quiet.
		return nil
	}
	body, err := rep.tmpl.Fit(data, render.CommentLimit, red.String)
	if err != nil {
		return err
	}
	if known && cached.body == body {
		return nil
	}
	return rep.putComment(ctx, owner, name, r.PR, key, body)
}

// prHead asks GitHub for the pull request's head commit and target
// branch; when GitHub does not know the pull request (a forge that only
// publishes refs/pull/*), the newest run's commit stands in.
func (rep *Reporter) prHead(ctx context.Context, owner, name string, r *engine.Run) (head, base string, err error) {
	pr, _, err := rep.o.Client.PullRequests.Get(ctx, owner, name, r.PR)
	if err == nil && pr.GetHead().GetSHA() != "" {
		return pr.GetHead().GetSHA(), pr.GetBase().GetRef(), nil
	}
	if err != nil && StatusCode(err) != http.StatusNotFound {
		return "", "", classify(fmt.Sprintf("pull request %s/%s#%d", owner, name, r.PR), err, rep.o.Now())
	}
	runs, lerr := rep.o.Store.ListRuns(ctx, engine.RunFilter{Repo: r.Repo, PR: r.PR, Limit: 1})
	if lerr != nil || len(runs) == 0 {
		return r.SHA, r.Base, lerr
	}
	return runs[0].SHA, runs[0].Base, nil
}

// commentData collects the newest run of each job at the head commit.
func (rep *Reporter) commentData(ctx context.Context, repo *engine.Repo, pr int, head, base string, red *redact.Redactor) (render.PRCommentData, error) {
	d := render.PRCommentData{Marker: CommentMarker, Repo: repo.GitHub, PR: pr, SHA: head, Base: base}
	runs, err := rep.o.Store.ListRuns(ctx, engine.RunFilter{Repo: repo.Name, PR: pr, SHA: head})
	if err != nil {
		return d, fmt.Errorf("runs of pull request #%d: %w", pr, err)
	}
	// Newest first: the first run seen of a job is its latest (a comment
	// command's re-run replaces the push's run in the table).
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].CreatedAt.After(runs[j].CreatedAt) })
	latest := map[string]*engine.Run{}
	for _, r := range runs {
		if _, ok := latest[r.JobPath]; !ok {
			latest[r.JobPath] = r
		}
	}
	now := rep.o.Now()
	for _, path := range slices.Sorted(maps.Keys(latest)) {
		r := latest[path]
		row := render.JobRow{Name: r.JobName, JobPath: r.JobPath, RunID: r.ID, URL: rep.runURL(r.ID),
			State: string(r.State), Reason: r.Reason, Duration: r.Duration(now), GPU: r.GPU, GPUModel: r.GPUModel,
			Untrusted: r.Untrusted}
		if r.State == engine.StateSucceeded {
			row.Reason = ""
		}
		if len(r.Metrics) > 0 {
			var baseM map[string]float64
			if base != "" {
				if baseM, err = rep.baseline(ctx, r, base); err != nil {
					return d, err
				}
			}
			for _, k := range slices.Sorted(maps.Keys(r.Metrics)) {
				m := render.Metric{Name: k, Value: r.Metrics[k]}
				if v, ok := baseM[k]; ok {
					m.Base, m.HasBase = v, true
				}
				row.Metrics = append(row.Metrics, m)
			}
		}
		switch r.State {
		case engine.StateFailed, engine.StateTimedOut, engine.StateError:
			if row.LogTail, row.LogLines, err = logTail(ctx, rep.o.Store, r.ID, rep.o.TailLines, rep.o.TailBytes, red); err != nil {
				return d, err
			}
		case engine.StateWaiting:
			d.Waiting = true
		}
		for i, a := range r.Artifacts {
			if i == rep.o.MaxArtifacts {
				row.MoreArtifacts = len(r.Artifacts) - i
				break
			}
			row.Artifacts = append(row.Artifacts, render.ArtifactRow{Path: a.Path, Size: a.Size})
		}
		for i, p := range r.Problems {
			if i == rep.o.MaxProblems {
				row.Problems = append(row.Problems, fmt.Sprintf("… and %d more problem(s)", len(r.Problems)-i))
				break
			}
			row.Problems = append(row.Problems, p.String())
		}
		d.Jobs = append(d.Jobs, row)
	}
	sort.SliceStable(d.Jobs, func(i, j int) bool { return d.Jobs[i].Name < d.Jobs[j].Name })
	return d, nil
}

// putComment edits our comment, or creates it when there is none (or it
// was deleted meanwhile).
func (rep *Reporter) putComment(ctx context.Context, owner, name string, pr int, key, body string) error {
	now := rep.o.Now()
	if cached, known := rep.cached.Get(key); known {
		_, _, err := rep.o.Client.Issues.EditComment(ctx, owner, name, cached.id, &gh.IssueComment{Body: gh.String(body)})
		if err == nil {
			rep.cached.Put(key, cachedComment{id: cached.id, body: body})
			return nil
		}
		if StatusCode(err) != http.StatusNotFound {
			return classify(fmt.Sprintf("edit comment %d on %s/%s#%d", cached.id, owner, name, pr), err, now)
		}
		// Someone deleted it; the next update looks for it again, this one
		// writes a new one.
		rep.cached.Delete(key)
	}
	c, _, err := rep.o.Client.Issues.CreateComment(ctx, owner, name, pr, &gh.IssueComment{Body: gh.String(body)})
	if err != nil {
		return classify(fmt.Sprintf("create comment on %s/%s#%d", owner, name, pr), err, now)
	}
	rep.cached.Put(key, cachedComment{id: c.GetID(), body: body})
	return nil
}

// findComment lists the pull request's comments, page by page, for the
// oldest one that starts with the marker and was written by us.
func (rep *Reporter) findComment(ctx context.Context, owner, name string, pr int) (int64, string, error) {
	login, err := rep.whoami(ctx)
	if err != nil {
		return 0, "", err
	}
	opt := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		cs, resp, err := rep.o.Client.Issues.ListComments(ctx, owner, name, pr, opt)
		if err != nil {
			return 0, "", classify(fmt.Sprintf("list comments of %s/%s#%d", owner, name, pr), err, rep.o.Now())
		}
		for _, c := range cs {
			if strings.HasPrefix(c.GetBody(), CommentMarker) && (login == "" || strings.EqualFold(c.GetUser().GetLogin(), login)) {
				return c.GetID(), c.GetBody(), nil
			}
		}
		if resp.NextPage == 0 {
			return 0, "", nil
		}
		opt.Page = resp.NextPage
	}
}

// whoami is the token's login, asked once. Tokens that may not ask (GitHub
// App installations answer 403) leave it empty.
func (rep *Reporter) whoami(ctx context.Context) (string, error) {
	rep.loginMu.Lock()
	defer rep.loginMu.Unlock()
	if rep.loginKnown {
		return rep.login, nil
	}
	u, _, err := rep.o.Client.Users.Get(ctx, "")
	_, limited := RetryAt(classify("", err, rep.o.Now()))
	switch code := StatusCode(err); {
	case err == nil:
		rep.login = u.GetLogin()
	case !limited && (code == http.StatusForbidden || code == http.StatusNotFound):
		rep.o.Logger.Info("cannot learn the token's login; finding the pull request comment by its marker alone", "err", err)
	default:
		return "", classify("who am I", err, rep.o.Now())
	}
	rep.loginKnown = true
	return rep.login, nil
}
