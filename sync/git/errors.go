package git

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// ErrHistoryUnavailable means a commit needed to compare two commits is not
// in the cache and the server would not send it (a shallow cache, a
// server that refuses fetching by id). Treat every job as changed.
var ErrHistoryUnavailable = errors.New("history unavailable")

// ErrTooLarge is returned for files over a read limit.
var ErrTooLarge = errors.New("file too large")

// ErrNotRegular is returned when a path names a symlink, submodule or tree
// where a regular file was wanted.
var ErrNotRegular = errors.New("not a regular file")

// ErrDiskFull means a write failed because the disk is full (ENOSPC).
var ErrDiskFull = errors.New("disk full")

// Kind says what went wrong talking to a remote.
type Kind string

// Kinds of remote failures.
const (
	KindUnreachable Kind = "remote unreachable"
	KindTimeout     Kind = "remote timed out"
	KindAuth        Kind = "authentication failed"
	KindNotFound    Kind = "repository not found"
	KindServer      Kind = "server error"
	KindProtocol    Kind = "protocol error"
	KindCanceled    Kind = "canceled"
)

// RemoteError is a failed call to a remote. Its message names the remote by
// its redacted URL and never contains credentials.
type RemoteError struct {
	URL  string // redacted
	Op   string // "list refs", "fetch", "clone"
	Kind Kind
	Err  error // the cause, its message scrubbed of credentials
}

func (e *RemoteError) Error() string {
	cause := strings.TrimSpace(e.Err.Error())
	if rest, ok := strings.CutPrefix(cause, string(e.Kind)); ok {
		cause = strings.TrimLeft(rest, ": ")
	}
	if cause == "" {
		return fmt.Sprintf("git %s %s: %s", e.Op, e.URL, e.Kind)
	}
	return fmt.Sprintf("git %s %s: %s: %s", e.Op, e.URL, e.Kind, cause)
}

func (e *RemoteError) Unwrap() error { return e.Err }

// Temporary reports whether trying again later may succeed: an unreachable,
// slow or failing server may recover; bad credentials and a missing
// repository need a person.
func (e *RemoteError) Temporary() bool {
	switch e.Kind {
	case KindUnreachable, KindTimeout, KindServer:
		return true
	}
	return false
}

// scrubbed carries a cause whose message has had secrets removed, while
// errors.Is/As still see the original.
type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

// remoteError classifies err from a remote call. ctx is the call's own
// context, so that its deadline is told apart from the caller's
// cancellation.
func (r *Repo) remoteError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	return &RemoteError{
		URL:  r.redacted,
		Op:   op,
		Kind: classify(ctx, err),
		Err:  &scrubbed{msg: r.secrets.scrub(err.Error()), err: unplumb(err)},
	}
}

// unplumb strips go-git's wrappers, which hide their cause from errors.Is
// and errors.As because they have no Unwrap method.
func unplumb(err error) error {
	for {
		switch e := err.(type) {
		case *plumbing.UnexpectedError:
			err = e.Err
		case *plumbing.PermanentError:
			err = e.Err
		default:
			return err
		}
	}
}

func classify(ctx context.Context, err error) Kind {
	err = unplumb(err)
	var httpErr *githttp.Err
	var netErr net.Error
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod),
		isSSHAuthError(err):
		return KindAuth
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return KindNotFound
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded:
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindCanceled
	case errors.As(err, &httpErr):
		code := httpErr.Response.StatusCode
		switch {
		case code == 401 || code == 403:
			return KindAuth
		case code == 404:
			return KindNotFound
		case code == 408 || code == 429 || code >= 500:
			return KindServer
		}
		return KindProtocol
	case errors.As(err, &netErr) && netErr.Timeout():
		return KindTimeout
	case errors.As(err, &netErr),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH),
		strings.Contains(err.Error(), "connection refused"),
		strings.Contains(err.Error(), "no such host"),
		strings.Contains(err.Error(), "EOF"):
		return KindUnreachable
	}
	return KindProtocol
}

func isSSHAuthError(err error) bool {
	return strings.Contains(err.Error(), "ssh: unable to authenticate") ||
		strings.Contains(err.Error(), "ssh: handshake failed: knownhosts")
}

// diskFull wraps err with ErrDiskFull when it is ENOSPC.
func diskFull(err error) error {
	if err != nil && errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return err
}
