package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	gh "github.com/google/go-github/v60/github"
)

// RetryAfterError is returned when GitHub asked us to wait (a primary or
// secondary rate limit, or a 429): trying again before At fails again and
// counts against us. The outbox should not retry before At.
type RetryAfterError struct {
	At  time.Time
	Err error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (GitHub asks to retry after %s)", e.Err, e.At.UTC().Format(time.RFC3339))
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter returns At; it makes the error an engine.RetryAfterError, so
// the outbox waits until At without importing this package.
func (e *RetryAfterError) RetryAfter() time.Time { return e.At }

var _ engine.RetryAfterError = (*RetryAfterError)(nil)

// RetryAt returns when err says to retry, and whether it says so.
func RetryAt(err error) (time.Time, bool) {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return ra.At, true
	}
	return time.Time{}, false
}

// StatusCode is the HTTP status of a GitHub API error, 0 when err is not
// an answer from GitHub (a network error, a cancelled context).
func StatusCode(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	var rl *gh.RateLimitError
	if errors.As(err, &rl) && rl.Response != nil {
		return rl.Response.StatusCode
	}
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &ab) && ab.Response != nil {
		return ab.Response.StatusCode
	}
	return 0
}

// classify wraps an API error with what was being done and how to handle
// it. Every error is returned (the outbox retries with capped backoff);
// rate limits become a RetryAfterError.
func classify(op string, err error, now time.Time) error {
	if err == nil {
		return nil
	}
	var rl *gh.RateLimitError
	var ab *gh.AbuseRateLimitError
	var er *gh.ErrorResponse
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", op, err)
	case errors.As(err, &rl):
		at := rl.Rate.Reset.Time
		if at.Before(now) {
			at = now.Add(time.Minute)
		}
		return &RetryAfterError{At: at, Err: fmt.Errorf("%s: primary rate limit exhausted: %w", op, err)}
	case errors.As(err, &ab):
		wait := time.Minute
		if ab.RetryAfter != nil && *ab.RetryAfter > 0 {
			wait = *ab.RetryAfter
		}
		return &RetryAfterError{At: now.Add(wait), Err: fmt.Errorf("%s: secondary rate limit: %w", op, err)}
	case errors.As(err, &er) && er.Response != nil:
		code := er.Response.StatusCode
		if at, ok := retryAfterHeader(er.Response, now); ok && (code == http.StatusTooManyRequests || code == http.StatusForbidden) {
			return &RetryAfterError{At: at, Err: fmt.Errorf("%s: rate limited (%d): %w", op, code, err)}
		}
		switch {
		case code == http.StatusTooManyRequests:
			return &RetryAfterError{At: now.Add(time.Minute), Err: fmt.Errorf("%s: rate limited (429): %w", op, err)}
		case code >= 500:
			return fmt.Errorf("%s: GitHub server error %d (temporary): %w", op, code, err)
		case code == http.StatusUnauthorized:
			return fmt.Errorf("%s: GitHub rejected the token (check GITLAUNCH_GITHUB_TOKEN or github.tokenFile): %w", op, err)
		case code == http.StatusNotFound:
			return fmt.Errorf("%s: not found on GitHub (repository renamed or deleted, or not visible to the token): %w", op, err)
		case code == http.StatusUnprocessableEntity:
			return fmt.Errorf("%s: GitHub refused the request (unknown commit, or repository gone): %w", op, err)
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s (network): %w", op, err)
}

// retryAfterHeader reads Retry-After (seconds or an HTTP date), or an
// exhausted X-RateLimit-Remaining with its reset time.
func retryAfterHeader(resp *http.Response, now time.Time) (time.Time, bool) {
	if v := resp.Header.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return now.Add(time.Duration(s) * time.Second), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return t, true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if s, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return time.Unix(s, 0), true
		}
		return now.Add(time.Minute), true
	}
	return time.Time{}, false
}
