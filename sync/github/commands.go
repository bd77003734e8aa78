package github

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	gh "github.com/google/go-github/v60/github"
)

// ReplyMarker marks gitlaunch's replies, whose text is never read as
// commands.
const ReplyMarker = "<!-- gitlaunch:reply -->"

// maxCommands bounds the commands read from one comment.
const maxCommands = 10

const commandHelp = "Commands, one per line, for collaborators with write access:\n" +
	"- `/gitlaunch run [job…]`: run these jobs (default: all) at the pull request's head commit\n" +
	"- `/gitlaunch cancel [job…]`: cancel this pull request's unfinished runs\n" +
	"- `/gitlaunch ok-to-test [sha]`: let the waiting runs of the head commit run, without secrets (again after every push)"

type command struct {
	name string
	args []string
}

// parseCommands reads the /gitlaunch lines of a comment: one command per
// line, anywhere in the comment; quoted lines (> …) and code blocks are
// not commands.
func parseCommands(body string) []command {
	var cmds []command
	fence := ""
	for _, line := range strings.Split(body, "\n") {
		t := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(t, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			fence = t[:3]
			continue
		}
		if strings.HasPrefix(t, ">") {
			continue
		}
		f := strings.Fields(t)
		if len(f) == 0 || f[0] != "/gitlaunch" {
			continue
		}
		c := command{}
		if len(f) > 1 {
			c.name, c.args = strings.ToLower(f[1]), f[2:]
		}
		cmds = append(cmds, c)
		if len(cmds) == maxCommands {
			break
		}
	}
	return cmds
}

// handleComment runs the commands of a pull request comment for a user
// with write access, reacts to the accepted ones and replies about the
// others.
func (h *WebhookHandler) handleComment(ctx context.Context, log *slog.Logger, d delivery) {
	c := d.comment
	body := c.Comment.Body
	if strings.Contains(body, ReplyMarker) || strings.Contains(body, CommentMarker) {
		return // our own words
	}
	owner, name, err := splitFullName(d.repo.GitHub)
	if err != nil {
		log.Error("comment command", "err", err)
		return
	}
	pr, user := c.Issue.Number, c.Comment.User.Login
	log = log.With("pr", pr, "user", user)
	red := NewRedactor(append(slices.Collect(maps.Values(d.repo.Secrets)), h.o.Secrets...)...)
	may, err := h.o.Trust.CanWrite(ctx, d.repo.GitHub, user)
	if err != nil && stopping(ctx) {
		log.Debug("comment command interrupted", "err", err)
		return
	}
	if err != nil {
		log.Warn("cannot check a commenter's permission", "err", err)
		h.reply(ctx, log, owner, name, pr, red, fmt.Sprintf("%s: gitlaunch could not check your permission (%v); please try again later.", user, err))
		return
	}
	if !may {
		log.Info("comment command refused: no write access")
		h.reply(ctx, log, owner, name, pr, red, fmt.Sprintf("%s: only collaborators with write access to %s can use `/gitlaunch` commands. A maintainer can comment `/gitlaunch ok-to-test` to run this pull request's jobs.", user, d.repo.GitHub))
		return
	}
	var replies []string
	reaction := ""
	for _, cmd := range parseCommands(body) {
		msg, react := h.command(ctx, log, d, cmd)
		if msg != "" {
			replies = append(replies, msg)
		}
		if react != "" && reaction == "" {
			reaction = react
		}
	}
	if err := ctx.Err(); err != nil {
		// Stopped or out of time: the replies would blame the commands
		// for it, and posting would fail the same way.
		warn(ctx, log, "comment command interrupted", err)
		return
	}
	if reaction != "" {
		if _, _, err := h.o.Client.Reactions.CreateIssueCommentReaction(ctx, owner, name, c.Comment.ID, reaction); err != nil {
			warn(ctx, log, "react to a command", err)
		}
	}
	if len(replies) > 0 {
		h.reply(ctx, log, owner, name, pr, red, user+": "+strings.Join(replies, "\n\n"))
	}
}

// command runs one command and returns a reply (empty: none) and a
// reaction (empty: not accepted).
func (h *WebhookHandler) command(ctx context.Context, log *slog.Logger, d delivery, cmd command) (reply, reaction string) {
	pr := d.comment.Issue.Number
	user := d.comment.Comment.User.Login
	switch cmd.name {
	case "run":
		return h.runCommand(ctx, log, d, cmd.args)
	case "cancel":
		runs, err := h.o.Engine.CancelPR(ctx, d.repo.Name, pr, cmd.args, "cancelled by "+user+" (/gitlaunch cancel)")
		switch {
		case err != nil:
			return fmt.Sprintf("`/gitlaunch cancel` failed: %v", err), ""
		case len(runs) == 0:
			return "nothing to cancel: no unfinished run" + jobsSuffix(cmd.args) + ".", ""
		}
		log.Info("cancel command", "runs", len(runs))
		return "", "+1"
	case "ok-to-test":
		return h.approveCommand(ctx, log, d, cmd.args)
	case "help":
		return commandHelp, ""
	case "":
		return "which command? " + commandHelp, ""
	}
	return fmt.Sprintf("unknown command %s. %s", codeSpan(cmd.name), commandHelp), ""
}

func jobsSuffix(jobs []string) string {
	if len(jobs) == 0 {
		return ""
	}
	return " of " + strings.Join(jobs, ", ")
}

func codeSpan(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}

// headOf asks the API for the pull request's current head, fetches it
// (the engine reads manifests from its git cache), and returns its facts.
func (h *WebhookHandler) headOf(ctx context.Context, log *slog.Logger, d delivery) (PRFacts, string) {
	pr := d.comment.Issue.Number
	f, err := h.o.Trust.PullRequest(ctx, d.repo.GitHub, pr)
	if err != nil {
		return f, fmt.Sprintf("could not read pull request #%d: %v", pr, err)
	}
	if !f.Open {
		return f, fmt.Sprintf("pull request #%d is closed.", pr)
	}
	if _, err := h.o.Engine.PollRepo(ctx, d.repo.Name); err != nil {
		warn(ctx, log, "poll before a command", err)
	}
	return f, ""
}

func (h *WebhookHandler) runCommand(ctx context.Context, log *slog.Logger, d delivery, jobs []string) (string, string) {
	pr := d.comment.Issue.Number
	f, problem := h.headOf(ctx, log, d)
	if problem != "" {
		return problem, ""
	}
	info, err := h.o.Trust.InspectPR(ctx, d.repo, pr, f.HeadSHA)
	if err != nil {
		return fmt.Sprintf("could not check pull request #%d: %v", pr, err), ""
	}
	runs, err := h.o.Engine.Submit(ctx, engine.Event{
		Repo: d.repo.Name, Trigger: engine.TriggerComment, Ref: fmt.Sprintf("refs/pull/%d/head", pr),
		PR: pr, Base: f.Base, Branch: f.Branch, After: f.HeadSHA,
		Key: strconv.FormatInt(d.comment.Comment.ID, 10), Jobs: jobs, Force: true,
		// A collaborator asked, so the runs start now; secrets still
		// follow the pull request's own trust.
		Untrusted: !info.Trusted,
	})
	if err != nil && len(runs) == 0 {
		return fmt.Sprintf("`/gitlaunch run` failed: %v", err), ""
	}
	var missing []string
	for _, j := range jobs {
		if !slices.ContainsFunc(runs, func(r *engine.Run) bool { return r.JobName == j }) {
			missing = append(missing, codeSpan(j))
		}
	}
	log.Info("run command", "sha", engine.ShortSHA(f.HeadSHA), "runs", len(runs))
	switch {
	case len(runs) == 0 && len(jobs) == 0:
		return fmt.Sprintf("no job.yaml found at %s.", engine.ShortSHA(f.HeadSHA)), ""
	case len(runs) == 0:
		return fmt.Sprintf("no job named %s at %s.", strings.Join(missing, ", "), engine.ShortSHA(f.HeadSHA)), ""
	case len(missing) > 0:
		return fmt.Sprintf("started the others, but there is no job named %s at %s.", strings.Join(missing, ", "), engine.ShortSHA(f.HeadSHA)), "rocket"
	}
	return "", "rocket"
}

func (h *WebhookHandler) approveCommand(ctx context.Context, log *slog.Logger, d delivery, args []string) (string, string) {
	pr := d.comment.Issue.Number
	f, problem := h.headOf(ctx, log, d)
	if problem != "" {
		return problem, ""
	}
	// A named commit pins the approval: a push that lands between the
	// comment and its handling is not approved by accident.
	if len(args) > 0 {
		want := strings.ToLower(args[0])
		if len(want) < 7 || !strings.HasPrefix(f.HeadSHA, want) {
			return fmt.Sprintf("the head of #%d is %s, not %s: nothing approved. Look at the new commit and approve it by name.", pr, engine.ShortSHA(f.HeadSHA), codeSpan(args[0])), ""
		}
	}
	runs, err := h.o.Engine.Approve(ctx, d.repo.Name, pr, f.HeadSHA)
	switch {
	case err != nil:
		return fmt.Sprintf("`/gitlaunch ok-to-test` failed: %v", err), ""
	case len(runs) == 0:
		return fmt.Sprintf("no run of %s waits for approval (trusted pull requests run by themselves; jobs run only when their paths change).", engine.ShortSHA(f.HeadSHA)), ""
	}
	log.Info("ok-to-test", "sha", engine.ShortSHA(f.HeadSHA), "runs", len(runs))
	return "", "+1"
}

// reply posts a short comment; failures are logged (the command's effect
// stands either way).
func (h *WebhookHandler) reply(ctx context.Context, log *slog.Logger, owner, name string, pr int, red *Redactor, text string) {
	body := ReplyMarker + "\n" + red.Redact(text)
	if _, _, err := h.o.Client.Issues.CreateComment(ctx, owner, name, pr, &gh.IssueComment{Body: gh.String(body)}); err != nil {
		warn(ctx, log, "reply to a command", err)
	}
}
