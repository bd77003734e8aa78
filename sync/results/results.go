package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

const (
	maxArtifacts    = 1000
	maxMetricsBytes = 1 << 20
)

// Reader reads what a finished run left in its workspace. Notes
// explain what it skipped; they go to the run log.
type Reader struct {
	Workspace string // host path of the workspace
	Workdir   string // host path of the job's working directory
	Notes     []string
}

func (r *Reader) note(format string, a ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, a...))
}

// inside resolves symlinks in name and reports whether the result stays in
// the workspace; the job controls every link there.
func (r *Reader) inside(name string) (string, bool) {
	root, err := filepath.EvalSymlinks(r.Workspace)
	if err != nil {
		return "", false
	}
	real, err := filepath.EvalSymlinks(name)
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(root, real)
	return real, err == nil && filepath.IsLocal(rel)
}

// artifacts lists the files under the workdir that match a glob, with
// their sizes, sorted by path.
func (r *Reader) Artifacts(globs []string) []engine.Artifact {
	var pats []string
	for _, g := range globs {
		if err := schema.ValidGlob(g); err != nil {
			r.note("artifacts: %v", err)
			continue
		}
		pats = append(pats, g)
	}
	if len(pats) == 0 {
		return nil
	}
	if _, ok := r.inside(r.Workdir); !ok {
		r.note("artifacts: the workdir is not inside the workspace; nothing listed")
		return nil
	}
	var out []engine.Artifact
	truncated := false
	err := filepath.WalkDir(r.Workdir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if name == r.Workdir {
				return err
			}
			return nil // an unreadable folder hides only itself
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(r.Workdir, name)
		if err != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if !matchAny(pats, rel) {
			return nil
		}
		var size int64
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			real, ok := r.inside(name)
			if !ok {
				r.note("artifact %s is a link out of the workspace (or broken); not listed", rel)
				return nil
			}
			st, err := os.Stat(real)
			if err != nil || !st.Mode().IsRegular() {
				return nil
			}
			size = st.Size()
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return nil
			}
			size = info.Size()
		default:
			return nil // sockets, devices, pipes
		}
		if len(out) == maxArtifacts {
			truncated = true
			return fs.SkipAll
		}
		out = append(out, engine.Artifact{Path: rel, Size: size})
		return nil
	})
	if err != nil {
		r.note("artifacts: %v", err)
	}
	if truncated {
		r.note("artifacts: more than %d files match; the list is cut", maxArtifacts)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func matchAny(pats []string, name string) bool {
	for _, p := range pats {
		if schema.MatchGlob(p, name) {
			return true
		}
	}
	return false
}

// metricsFile reads the job's flat JSON object of numbers; other values are
// skipped with a note.
func (r *Reader) MetricsFile(m *schema.Metrics) map[string]float64 {
	if m == nil || m.File == "" {
		return nil
	}
	if !filepath.IsLocal(filepath.FromSlash(m.File)) {
		r.note("metrics file %q leaves the workdir; not read", m.File)
		return nil
	}
	name := filepath.Join(r.Workdir, filepath.FromSlash(m.File))
	if _, err := os.Lstat(name); err != nil {
		r.note("metrics file %s was not written", m.File)
		return nil
	}
	real, ok := r.inside(name)
	if !ok {
		r.note("metrics file %s is a link out of the workspace; not read", m.File)
		return nil
	}
	f, err := os.Open(real)
	if err != nil {
		r.note("metrics file %s: %v", m.File, err)
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMetricsBytes+1))
	if err != nil {
		r.note("metrics file %s: %v", m.File, err)
		return nil
	}
	if len(b) > maxMetricsBytes {
		r.note("metrics file %s is over %d bytes; not read", m.File, maxMetricsBytes)
		return nil
	}
	vals, skipped, err := ParseMetrics(b)
	if err != nil {
		r.note("metrics file %s: %v", m.File, err)
		return nil
	}
	for _, k := range skipped {
		r.note("metrics file %s: %q is not a number; skipped", m.File, k)
	}
	return vals
}

// ParseMetrics parses a flat JSON object and keeps its finite numbers;
// skipped names the other keys, sorted.
func ParseMetrics(b []byte) (vals map[string]float64, skipped []string, err error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, fmt.Errorf("want a JSON object of numbers: %w", err)
	}
	if raw == nil {
		return nil, nil, errors.New("want a JSON object of numbers, got null")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, errors.New("want one JSON object, found more after it")
	}
	vals = map[string]float64{}
	for k, v := range raw {
		n, ok := v.(json.Number)
		if !ok {
			skipped = append(skipped, k)
			continue
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			skipped = append(skipped, k)
			continue
		}
		vals[k] = f
	}
	sort.Strings(skipped)
	return vals, skipped, nil
}

// MergeMetrics puts file values over pattern values: what the job wrote
// deliberately wins over what was scraped from its log.
func MergeMetrics(patterns, file map[string]float64) map[string]float64 {
	if len(patterns) == 0 && len(file) == 0 {
		return nil
	}
	out := make(map[string]float64, len(patterns)+len(file))
	for k, v := range patterns {
		out[k] = v
	}
	for k, v := range file {
		out[k] = v
	}
	return out
}
