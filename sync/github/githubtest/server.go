// Package githubtest is a stateful fake of the parts of GitHub's REST API
// that gitlaunch uses, served on 127.0.0.1 for tests. It follows GitHub's
// documented semantics: commit statuses are kept per commit and the
// combined status takes the newest per context; issue comments are created,
// edited by id and listed with per_page/page pagination and Link headers;
// reactions are unique per user and content; the collaborator permission
// endpoint answers admin/write/read/none; every answer carries X-RateLimit-*
// headers and an exhausted primary limit answers 403. Tests inject 5xx,
// secondary rate limits (403 + Retry-After), 429s and dropped connections.
package githubtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is the fake API. Its state is safe for concurrent use.
type Server struct {
	// URL is the server's root, e.g. http://127.0.0.1:41234; the API lives
	// under APIURL (GitHub Enterprise's layout).
	URL string

	srv *httptest.Server
	mux *http.ServeMux

	mu       sync.Mutex
	tokens   map[string]string // token → login
	repos    map[string]*repo  // lowercased full name → repo
	nextID   int64
	failures []*Failure
	requests []Request
	rate     rateState
}

// Request is one request the server answered.
type Request struct {
	Method string
	Path   string // without /api/v3
	Query  string
	Status int
}

type rateState struct {
	limit, remaining int
	reset            time.Time
}

// New starts a server on 127.0.0.1 with one token, "test-token", that
// belongs to the user "gitlaunch-bot". It stops when the test ends.
func New(t testing.TB) *Server {
	s := NewServer()
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a server; Close stops it.
func NewServer() *Server {
	s := &Server{
		tokens: map[string]string{"test-token": "gitlaunch-bot"},
		repos:  map[string]*repo{},
		nextID: 1000,
		rate:   rateState{limit: 5000, remaining: 5000, reset: time.Now().Add(time.Hour)},
	}
	s.mux = http.NewServeMux()
	s.routes()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// APIURL is the base URL for API clients: URL + "/api/v3/".
func (s *Server) APIURL() string { return s.URL + "/api/v3/" }

// AddToken lets token authenticate as login.
func (s *Server) AddToken(token, login string) {
	s.mu.Lock()
	s.tokens[token] = login
	s.mu.Unlock()
}

// SetRateLimit sets the primary rate limit window.
func (s *Server) SetRateLimit(limit, remaining int, reset time.Time) {
	s.mu.Lock()
	s.rate = rateState{limit: limit, remaining: remaining, reset: reset}
	s.mu.Unlock()
}

// Requests returns every answered request, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count is how many requests had this method and a path containing part.
func (s *Server) Count(method, part string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && strings.Contains(r.Path, part) {
			n++
		}
	}
	return n
}

// Failure is an injected answer: the next Times requests whose method is
// Method (any when "") and whose path contains Path get it instead of the
// real answer, and change nothing.
type Failure struct {
	Method string
	Path   string
	Times  int
	Status int
	Header http.Header
	Body   string
	// Drop closes the connection without an answer (a network error; note
	// that net/http retries idempotent requests once on a new connection).
	Drop bool
}

// Fail queues f.
func (s *Server) Fail(f Failure) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.failures = append(s.failures, &f)
	s.mu.Unlock()
}

// ServerError is a 5xx answer.
func ServerError(status int) Failure {
	return Failure{Status: status, Body: `{"message":"Server Error"}`}
}

// SecondaryRateLimit is GitHub's secondary rate limit answer: 403 with a
// documentation URL ending in secondary-rate-limits and Retry-After.
func SecondaryRateLimit(retryAfter time.Duration) Failure {
	return Failure{Status: http.StatusForbidden,
		Header: http.Header{"Retry-After": {strconv.Itoa(int(retryAfter.Seconds()))}},
		Body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",` +
			`"documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`}
}

// TooManyRequests is a 429 with Retry-After.
func TooManyRequests(retryAfter time.Duration) Failure {
	return Failure{Status: http.StatusTooManyRequests,
		Header: http.Header{"Retry-After": {strconv.Itoa(int(retryAfter.Seconds()))}},
		Body:   `{"message":"Too Many Requests"}`}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, "/api/v3")
	if !ok {
		writeJSON(w, http.StatusNotFound, msg("Not Found"))
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: path, Query: r.URL.RawQuery, Status: rec.status})
		s.mu.Unlock()
	}()

	s.mu.Lock()
	login, authed := s.tokens[token(r)]
	now := time.Now()
	if now.After(s.rate.reset) {
		s.rate.remaining, s.rate.reset = s.rate.limit, now.Add(time.Hour)
	}
	exhausted := s.rate.remaining <= 0
	if authed && !exhausted {
		s.rate.remaining--
	}
	s.setRateHeaders(w.Header())
	f := s.takeFailure(r.Method, path)
	s.mu.Unlock()

	switch {
	case f != nil && f.Drop:
		rec.status = 0
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("githubtest: cannot drop a connection")
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			conn.Close()
		}
		return
	case f != nil:
		for k, vs := range f.Header {
			w.Header()[k] = vs
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		rec.WriteHeader(f.Status)
		fmt.Fprint(rec, f.Body)
		return
	case !authed:
		writeJSON(rec, http.StatusUnauthorized, map[string]string{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return
	case exhausted:
		writeJSON(rec, http.StatusForbidden, map[string]string{"message": "API rate limit exceeded for user " + login + ".",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"})
		return
	}
	r2 := r.Clone(context.WithValue(r.Context(), loginKey{}, login))
	r2.URL.Path, r2.URL.RawPath = path, ""
	s.mux.ServeHTTP(rec, r2)
}

type loginKey struct{}

// login is the authenticated user of a request.
func login(r *http.Request) string { s, _ := r.Context().Value(loginKey{}).(string); return s }

func token(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, p := range []string{"Bearer ", "token "} {
		if t, ok := strings.CutPrefix(h, p); ok {
			return t
		}
	}
	return ""
}

func (s *Server) setRateHeaders(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.rate.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(s.rate.remaining, 0)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.rate.reset.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(s.rate.limit-max(s.rate.remaining, 0)))
	h.Set("X-RateLimit-Resource", "core")
}

func (s *Server) takeFailure(method, path string) *Failure {
	for i, f := range s.failures {
		if (f.Method == "" || f.Method == method) && strings.Contains(path, f.Path) {
			f.Times--
			if f.Times <= 0 {
				s.failures = append(s.failures[:i], s.failures[i+1:]...)
			}
			return f
		}
	}
	return nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func msg(m string) map[string]string {
	return map[string]string{"message": m, "documentation_url": "https://docs.github.com/rest"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func validationFailed(w http.ResponseWriter, resource, field, message string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            []map[string]string{{"resource": resource, "code": "custom", "field": field, "message": message}},
		"documentation_url": "https://docs.github.com/rest",
	})
}
