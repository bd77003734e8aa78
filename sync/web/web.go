// Package web is the syncer's HTTP face: GitHub webhooks, a small
// dashboard (run list, run page with state, metrics, artifacts and log),
// Prometheus metrics and a health check. Pages are read-only views of the
// store; everything shown is escaped, since logs are written by jobs.
//
// The server itself is bounded in time and memory, since the webhook
// endpoint faces the internet: NewHTTPServer sets every timeout, caps
// headers and charges request bodies to a budget shared by all requests;
// LimitListener bounds connections; streaming routes opt out of the
// response timeout explicitly with Stream. Limits documents the defaults.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// Store is what the pages read.
type Store interface {
	GetRun(ctx context.Context, id string) (*engine.Run, error)
	ListRuns(ctx context.Context, f engine.RunFilter) ([]*engine.Run, error)
	Transitions(ctx context.Context, runID string) ([]engine.Transition, error)
	OpenLog(ctx context.Context, runID string, off int64) (io.ReadCloser, error)
	LogSize(ctx context.Context, runID string) (int64, error)
}

// LogNoter is a Store that can say what of a run's log it does not keep
// (a cut, a removal by retention), for the run page; "" when the log is
// whole.
type LogNoter interface {
	LogNote(ctx context.Context, runID string) (string, error)
}

// Options configure a Server.
type Options struct {
	Store Store
	// Webhook handles POST /webhook; nil answers 404 there.
	Webhook http.Handler
	// Health reports whether the syncer can do its work; nil means healthy.
	Health func(ctx context.Context) error
	Logger *slog.Logger
	Now    func() time.Time
}

// Server serves the syncer's HTTP endpoints.
type Server struct {
	opts  Options
	mux   *http.ServeMux
	pages *template.Template
}

//go:embed pages/*.html
var pageFS embed.FS

// tailBytes is how much of a log the run page shows unless asked for all.
const tailBytes = 64 << 10

// New returns a server; mount it with http.Server{Handler: s}.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("web: a store is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, mux: http.NewServeMux()}
	funcs := template.FuncMap{
		"short":    engine.ShortSHA,
		"duration": func(r *engine.Run) string { return fmtDuration(r.Duration(opts.Now())) },
		"ago":      func(t time.Time) string { return fmtDuration(opts.Now().Sub(t)) + " ago" },
		"size":     render.HumanSize,
		"metrics":  sortedMetrics,
		"stamp":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	}
	var err error
	s.pages, err = template.New("").Funcs(funcs).ParseFS(pageFS, "pages/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: pages: %w", err)
	}
	s.mux.HandleFunc("GET /{$}", s.list)
	s.mux.HandleFunc("GET /runs/{id}", s.run)
	s.mux.HandleFunc("GET /runs/{id}/log", s.log)
	s.mux.HandleFunc("GET /api/runs", s.apiRuns)
	s.mux.HandleFunc("GET /api/runs/{id}", s.apiRun)
	s.mux.HandleFunc("GET /healthz", s.health)
	s.mux.HandleFunc("GET /metrics", s.metrics)
	if opts.Webhook != nil {
		s.mux.Handle("POST /webhook", opts.Webhook)
	}
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, engine.ErrNotFound) {
		http.Error(w, "no such run", http.StatusNotFound)
		return
	}
	if r.Context().Err() != nil {
		// The client hung up or the syncer is shutting down: the failure
		// is the interruption, not an error worth a log line.
		s.opts.Logger.Debug("web: request ended early", "path", r.URL.Path, "err", err)
		http.Error(w, "request ended", http.StatusServiceUnavailable)
		return
	}
	s.opts.Logger.Error("web", "path", r.URL.Path, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	f := engine.RunFilter{Repo: r.URL.Query().Get("repo"), Limit: 200}
	if st := r.URL.Query().Get("state"); st != "" {
		f.States = []engine.State{engine.State(st)}
	}
	runs, err := s.opts.Store.ListRuns(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, "list.html", map[string]any{"Runs": runs, "Filter": f})
}

type runPage struct {
	Run         *engine.Run
	Transitions []engine.Transition
	Log         string
	LogSize     int64
	Truncated   bool
	LogNote     string // what of the log is not kept (LogNoter)
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	run, err := s.opts.Store.GetRun(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tr, err := s.opts.Store.Transitions(ctx, run.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	size, err := s.opts.Store.LogSize(ctx, run.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	off := max(size-tailBytes, 0)
	rc, err := s.opts.Store.OpenLog(ctx, run.ID, off)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, tailBytes))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := runPage{Run: run, Transitions: tr, Log: string(b), LogSize: size, Truncated: off > 0}
	if n, ok := s.opts.Store.(LogNoter); ok {
		if page.LogNote, err = n.LogNote(ctx, run.ID); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, "run.html", page)
}

// log streams the whole log as plain text, however large: a streaming
// route, bounded per write rather than as a whole (see Stream).
func (s *Server) log(w http.ResponseWriter, r *http.Request) {
	rc, err := s.opts.Store.OpenLog(r.Context(), r.PathValue("id"), 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rc.Close()
	w = Stream(w, r)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.Copy(w, rc)
}

func (s *Server) render(w http.ResponseWriter, name string, data any) {
	var b strings.Builder
	if err := s.pages.ExecuteTemplate(&b, name, data); err != nil {
		s.opts.Logger.Error("web: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = io.WriteString(w, b.String())
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if s.opts.Health != nil {
		if err := s.opts.Health(r.Context()); err != nil {
			http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	_, _ = io.WriteString(w, "ok\n")
}

func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

type metric struct {
	Name  string
	Value float64
}

func sortedMetrics(m map[string]float64) []metric {
	out := make([]metric, 0, len(m))
	for k, v := range m {
		out = append(out, metric{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
