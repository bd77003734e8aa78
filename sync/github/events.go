package github

import (
	"context"
	"errors"
	"log/slog"
)

// handle does what a delivery asks. Pushes and pull request updates only
// make the engine poll: polling is the one path that fetches and plans,
// so a webhook and a poll can never plan twice.
func (h *WebhookHandler) handle(ctx context.Context, d delivery) {
	ctx, cancel := context.WithTimeout(ctx, h.o.CommandTimeout)
	defer cancel()
	log := h.o.Logger.With("delivery", d.id, "event", d.event, "repo", d.repo.Name)
	switch {
	case d.push != nil:
		h.o.Engine.PollNow(d.repo.Name)
		log.Debug("push: polling", "ref", d.push.Ref)
	case d.pr != nil:
		h.handlePR(ctx, log, d)
	case d.comment != nil:
		h.handleComment(ctx, log, d)
	}
}

func (h *WebhookHandler) handlePR(ctx context.Context, log *slog.Logger, d delivery) {
	n := d.pr.number()
	f := d.pr.facts()
	if h.o.Trust != nil {
		h.o.Trust.Remember(d.repo.GitHub, n, f)
	}
	if d.pr.Action == "closed" {
		runs, err := h.o.Engine.CancelPR(ctx, d.repo.Name, n, nil, "pull request closed")
		if err != nil {
			warn(ctx, log, "cancel runs of a closed pull request", err, "pr", n)
		}
		log.Info("pull request closed", "pr", n, "cancelled", len(runs))
		return
	}
	h.o.Engine.PollNow(d.repo.Name)
	log.Debug("pull request: polling", "pr", n, "action", d.pr.Action, "sha", f.HeadSHA)
}

// stopping reports whether ctx was cancelled: the worker is stopping
// (shutdown). A CommandTimeout that passed is not that.
func stopping(ctx context.Context) bool { return errors.Is(ctx.Err(), context.Canceled) }

// warn logs a failed call, at debug level when the worker is stopping: a
// call cut short by shutdown is not a failure worth a warning.
func warn(ctx context.Context, log *slog.Logger, msg string, err error, args ...any) {
	level := slog.LevelWarn
	if stopping(ctx) {
		level = slog.LevelDebug
	}
	log.Log(context.Background(), level, msg, append(args, "err", err)...)
}
