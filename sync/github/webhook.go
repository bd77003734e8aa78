package github

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	gh "github.com/google/go-github/v60/github"
)

// Engine is what the webhook handler asks of the engine (*engine.Engine).
type Engine interface {
	// PollNow makes the engine poll a repository at its next step; false
	// when it is not watched.
	PollNow(name string) bool
	// PollRepo polls one repository now, so that a commit a command names
	// is fetched before it is planned.
	PollRepo(ctx context.Context, name string) ([]*engine.Run, error)
	RepoByGitHub(fullName string) (*engine.Repo, bool)
	Submit(ctx context.Context, ev engine.Event) ([]*engine.Run, error)
	CancelPR(ctx context.Context, repo string, pr int, jobs []string, reason string) ([]*engine.Run, error)
	Approve(ctx context.Context, repo string, pr int, sha string) ([]*engine.Run, error)
}

// Defaults of WebhookOptions.
const (
	// MaxWebhookBody is GitHub's cap on a delivery's payload.
	MaxWebhookBody = 25 << 20
	DefaultQueue   = 1000
	// DefaultDeliveries is how many delivery IDs are remembered to ignore
	// redeliveries.
	DefaultDeliveries = 10000
)

// WebhookOptions configure a WebhookHandler.
type WebhookOptions struct {
	// Secret is the webhook's shared secret (required): deliveries must
	// carry X-Hub-Signature-256 computed with it.
	Secret []byte
	Engine Engine // required
	// Trust remembers pull requests and answers permission questions;
	// Client posts replies and reactions. Both are required for comment
	// commands; without them commands are ignored.
	Trust  *Trust
	Client *gh.Client
	// Secrets are hidden in replies, besides each repository's secrets.
	Secrets []string
	// QueueSize bounds accepted but unhandled deliveries (default 1000);
	// when full the handler answers 503.
	QueueSize int
	// MaxBody bounds a delivery's body (default 25 MiB); larger ones get 413.
	MaxBody int64
	// Deliveries is how many delivery IDs are remembered (default 10000).
	Deliveries int
	// CommandTimeout bounds the handling of one delivery (default 2m).
	CommandTimeout time.Duration
	Logger         *slog.Logger
}

// WebhookHandler serves POST /webhook. ServeHTTP verifies, parses and
// queues; Run, which its owner must call, does the work. It answers within
// milliseconds, so GitHub's 10-second timeout is never near.
type WebhookHandler struct {
	o     WebhookOptions
	queue chan delivery
	seen  *lru[string, struct{}]
	// seenMu makes "not seen yet → queue → remember" one step, so two
	// copies of a delivery arriving at once queue once.
	seenMu sync.Mutex
	stats  webhookCounters
}

// delivery is one verified, parsed event waiting for the worker.
type delivery struct {
	id      string
	event   string
	repo    *engine.Repo
	push    *pushPayload
	pr      *pullRequestPayload
	comment *issueCommentPayload
}

// WebhookStats count what the handler saw since it started.
type WebhookStats struct {
	Received     int64 // requests
	Queued       int64 // deliveries handed to the worker
	Handled      int64 // deliveries the worker finished
	Duplicates   int64 // redeliveries ignored
	Ignored      int64 // valid, but nothing to do (event, action, repository)
	Unauthorized int64 // missing or wrong signature
	Rejected     int64 // queue full (503), too large (413), malformed (400)
}

type webhookCounters struct {
	received, queued, handled, duplicates, ignored, unauthorized, rejected atomic.Int64
}

// NewWebhookHandler checks opts and returns a handler.
func NewWebhookHandler(opts WebhookOptions) (*WebhookHandler, error) {
	if len(opts.Secret) == 0 {
		return nil, errors.New("github webhooks: a secret is required (GITLAUNCH_WEBHOOK_SECRET or github.webhookSecretFile)")
	}
	if opts.Engine == nil {
		return nil, errors.New("github webhooks: an engine is required")
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueue
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = MaxWebhookBody
	}
	if opts.Deliveries <= 0 {
		opts.Deliveries = DefaultDeliveries
	}
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = 2 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &WebhookHandler{o: opts, queue: make(chan delivery, opts.QueueSize), seen: newLRU[string, struct{}](opts.Deliveries)}, nil
}

// Stats returns the handler's counters.
func (h *WebhookHandler) Stats() WebhookStats {
	c := &h.stats
	return WebhookStats{Received: c.received.Load(), Queued: c.queued.Load(), Handled: c.handled.Load(),
		Duplicates: c.duplicates.Load(), Ignored: c.ignored.Load(), Unauthorized: c.unauthorized.Load(), Rejected: c.rejected.Load()}
}

func (h *WebhookHandler) answer(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

// ServeHTTP implements http.Handler. The headers are checked first: a
// delivery that cannot be genuine (no well-formed signature, no event
// name) is refused before a byte of its body is read, and so is a body
// declared larger than MaxBody; events gitlaunch does not handle are
// answered 202 unread. The body is then read once, within MaxBody, into
// pooled chunks while its HMAC is computed; nothing of it is looked at
// before the signature checks out.
func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.stats.received.Add(1)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, http.StatusMethodNotAllowed, "webhooks are POSTed")
		return
	}
	sig, ok := parseSignature(r.Header.Get(gh.SHA256SignatureHeader))
	if !ok {
		h.stats.unauthorized.Add(1)
		h.refuse(w, http.StatusUnauthorized, "missing or malformed X-Hub-Signature-256")
		return
	}
	event, id := r.Header.Get(gh.EventTypeHeader), r.Header.Get(gh.DeliveryIDHeader)
	if !validHeaderToken(event) || id != "" && !validHeaderToken(id) {
		h.stats.rejected.Add(1)
		h.refuse(w, http.StatusBadRequest, "missing or malformed X-GitHub-Event or X-GitHub-Delivery")
		return
	}
	if !handledEvents[event] {
		// Nothing would be done with it, so its body is not even read.
		h.stats.ignored.Add(1)
		h.refuse(w, http.StatusAccepted, "event "+event+" ignored")
		return
	}
	if r.ContentLength > h.o.MaxBody {
		h.stats.rejected.Add(1)
		h.refuse(w, http.StatusRequestEntityTooLarge, "payload too large")
		return
	}
	body, release, err := h.readSigned(w, r, sig)
	if err != nil {
		code, msg := readFailure(err)
		if code == http.StatusUnauthorized {
			h.stats.unauthorized.Add(1)
		} else {
			h.stats.rejected.Add(1)
		}
		h.refuse(w, code, msg)
		return
	}
	payload, err := formPayload(r.Header.Get("Content-Type"), body)
	if err != nil {
		release()
		h.stats.rejected.Add(1)
		h.answer(w, http.StatusBadRequest, err.Error())
		return
	}
	code, msg := h.accept(event, id, payload) // keeps nothing of payload
	release()
	h.answer(w, code, msg)
}

// handledEvents are the events whose bodies are read.
var handledEvents = map[string]bool{"ping": true, "push": true, "pull_request": true, "issue_comment": true}

// refuse answers (a refusal, or 202 for an event not handled) and closes
// the connection. The rest of the body, if any, is not read: the read
// deadline set to now keeps the server from reading up to 256 KiB of it
// after the answer, which it does even on a connection it closes.
func (h *WebhookHandler) refuse(w http.ResponseWriter, code int, msg string) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	w.Header().Set("Connection", "close")
	h.answer(w, code, msg)
}

// accept parses a verified delivery and queues it; it returns the answer.
func (h *WebhookHandler) accept(event, id string, payload []byte) (int, string) {
	if id != "" {
		if _, dup := h.seen.Get(id); dup {
			h.stats.duplicates.Add(1)
			return http.StatusOK, "duplicate delivery ignored"
		}
	}
	d := delivery{id: id, event: event}
	var fullName string
	switch event {
	case "ping":
		h.remember(id)
		return http.StatusOK, "pong"
	case "push":
		d.push = &pushPayload{}
		if err := decodePayload(event, payload, d.push); err != nil {
			return h.malformed(err)
		}
		fullName = d.push.Repository.FullName
	case "pull_request":
		d.pr = &pullRequestPayload{}
		if err := decodePayload(event, payload, d.pr); err != nil {
			return h.malformed(err)
		}
		switch d.pr.Action {
		case "opened", "synchronize", "synchronized", "reopened", "closed", "edited":
		default:
			return h.ignore(id, "pull_request action "+d.pr.Action+" ignored")
		}
		if d.pr.number() <= 0 {
			return h.malformed(errors.New("pull_request payload without a number"))
		}
		fullName = d.pr.Repository.FullName
	case "issue_comment":
		d.comment = &issueCommentPayload{}
		if err := decodePayload(event, payload, d.comment); err != nil {
			return h.malformed(err)
		}
		switch {
		case d.comment.Action != "created":
			return h.ignore(id, "only new comments hold commands")
		case !d.comment.onPullRequest():
			return h.ignore(id, "not a pull request comment")
		case len(parseCommands(d.comment.Comment.Body)) == 0:
			return h.ignore(id, "no /gitlaunch command")
		case h.o.Trust == nil || h.o.Client == nil:
			return h.ignore(id, "comment commands are not configured")
		}
		fullName = d.comment.Repository.FullName
	default:
		return h.ignore(id, "event "+event+" ignored")
	}
	repo, ok := h.o.Engine.RepoByGitHub(fullName)
	if !ok {
		return h.ignore(id, "repository "+fullName+" is not watched")
	}
	d.repo = repo

	h.seenMu.Lock()
	defer h.seenMu.Unlock()
	if id != "" {
		if _, dup := h.seen.Get(id); dup {
			h.stats.duplicates.Add(1)
			return http.StatusOK, "duplicate delivery ignored"
		}
	}
	select {
	case h.queue <- d:
	default:
		// Not remembered: a redelivery from GitHub's page may succeed.
		h.stats.rejected.Add(1)
		return http.StatusServiceUnavailable, "busy: queue full; polling will catch up"
	}
	h.seen.Put(id, struct{}{})
	h.stats.queued.Add(1)
	return http.StatusAccepted, "queued"
}

func (h *WebhookHandler) remember(id string) {
	if id != "" {
		h.seen.Put(id, struct{}{})
	}
}

func (h *WebhookHandler) ignore(id, why string) (int, string) {
	h.remember(id)
	h.stats.ignored.Add(1)
	return http.StatusAccepted, why
}

func (h *WebhookHandler) malformed(err error) (int, string) {
	h.stats.rejected.Add(1)
	return http.StatusBadRequest, err.Error()
}

// Run handles queued deliveries until ctx ends; deliveries still queued
// then are dropped (polling, the safety net, finds their changes). Ending
// is not an error: Run returns nil, and a delivery interrupted by it logs
// no error.
func (h *WebhookHandler) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			if n := len(h.queue); n > 0 {
				h.o.Logger.Info("webhook worker stopping; polling will catch up on the queued deliveries", "dropped", n)
			}
			return nil
		case d := <-h.queue:
			if ctx.Err() != nil {
				continue // both were ready; stopping wins
			}
			h.handle(ctx, d)
			h.stats.handled.Add(1)
		}
	}
}
