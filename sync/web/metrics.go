package web

import (
	"encoding/json"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"net/http"
	"sort"
	"strings"
)

// metrics writes Prometheus' text exposition format by hand: a few gauges
// do not justify a client library.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	runs, err := s.opts.Store.ListRuns(r.Context(), engine.RunFilter{Limit: 10000})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	byState := map[engine.State]int{}
	for _, run := range runs {
		byState[run.State]++
	}
	states := make([]string, 0, len(byState))
	for st := range byState {
		states = append(states, string(st))
	}
	sort.Strings(states)
	var b strings.Builder
	b.WriteString("# HELP gitlaunch_runs Runs in the store (the newest 10000) by state.\n# TYPE gitlaunch_runs gauge\n")
	for _, st := range states {
		fmt.Fprintf(&b, "gitlaunch_runs{state=%q} %d\n", st, byState[engine.State(st)])
	}
	healthy := 1
	if s.opts.Health != nil && s.opts.Health(r.Context()) != nil {
		healthy = 0
	}
	fmt.Fprintf(&b, "# HELP gitlaunch_up Whether the syncer reports itself healthy.\n# TYPE gitlaunch_up gauge\ngitlaunch_up %d\n", healthy)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

func (s *Server) apiRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := engine.RunFilter{Repo: q.Get("repo"), Limit: 100}
	if st := q.Get("state"); st != "" {
		f.States = []engine.State{engine.State(st)}
	}
	runs, err := s.opts.Store.ListRuns(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, run := range runs {
		run.Manifest = ""
	}
	writeJSON(w, runs)
}

func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	run, err := s.opts.Store.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, run)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
