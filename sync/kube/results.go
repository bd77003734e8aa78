package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync"
)

const (
	maxArtifacts    = 1000
	maxMetricsBytes = 1 << 20
)

// results reads what a finished run left on the results volume, as this
// process sees it. The syncer mounts the volume the Pods mount; the Pod
// says where in it the run's workspace is (its subPath) and which folder
// of that is the job's (workingDir under the mount). notes explain what was
// skipped and go to the run's log. (A small reader of its own: sync/local
// keeps its reader unexported, and adapters do not import each other.)
type results struct {
	workspace string
	workdir   string
	notes     []string
}

func (r *results) note(format string, a ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, a...))
}

// resultsFor locates the run's folders under dir from the Pod.
func resultsFor(dir string, p *corev1.Pod) (*results, error) {
	var c *corev1.Container
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == render.ContainerJob || len(p.Spec.Containers) == 1 {
			c = &p.Spec.Containers[i]
		}
	}
	if c == nil {
		return nil, errors.New("the Pod has no job container")
	}
	for _, m := range c.VolumeMounts {
		if m.Name != render.VolumeWorkspace {
			continue
		}
		sub := path.Clean(m.SubPath)
		if m.SubPath == "" || !filepath.IsLocal(filepath.FromSlash(sub)) {
			return nil, fmt.Errorf("the workspace mount has subPath %q, not a folder of the results volume", m.SubPath)
		}
		r := &results{workspace: filepath.Join(dir, filepath.FromSlash(sub))}
		r.workdir = r.workspace
		wd := path.Clean(c.WorkingDir)
		mount := path.Clean(m.MountPath)
		if rel, ok := strings.CutPrefix(wd, mount+"/"); ok && c.WorkingDir != "" {
			if !filepath.IsLocal(filepath.FromSlash(rel)) {
				return nil, fmt.Errorf("workingDir %q leaves the workspace", c.WorkingDir)
			}
			r.workdir = filepath.Join(r.workspace, filepath.FromSlash(rel))
		}
		return r, nil
	}
	return nil, errors.New("the job container does not mount the workspace volume")
}

// within resolves links in name and reports whether it stays in the
// workspace (the job made every link there).
func (r *results) within(name string) (string, bool) {
	root, err := filepath.EvalSymlinks(r.workspace)
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

// artifacts lists the regular files under the workdir matching a glob,
// with sizes, sorted by path.
func (r *results) artifacts(globs []string) []sync.Artifact {
	var pats []string
	for _, g := range globs {
		if err := schema.ValidGlob(g); err != nil {
			r.note("artifacts: glob %q: %v", g, err)
			continue
		}
		pats = append(pats, g)
	}
	if len(pats) == 0 {
		return nil
	}
	if _, ok := r.within(r.workdir); !ok {
		r.note("artifacts: the job's folder %s is missing or leaves the workspace; nothing listed", r.workdir)
		return nil
	}
	var out []sync.Artifact
	cut := false
	err := filepath.WalkDir(r.workdir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if name == r.workdir {
				return err
			}
			return nil // an unreadable folder hides only itself
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(r.workdir, name)
		if err != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if !slices.ContainsFunc(pats, func(p string) bool { return schema.MatchGlob(p, rel) }) {
			return nil
		}
		target := name
		if d.Type()&fs.ModeSymlink != 0 {
			real, ok := r.within(name)
			if !ok {
				r.note("artifact %s links out of the workspace (or nowhere); not listed", rel)
				return nil
			}
			target = real
		}
		st, err := os.Stat(target)
		if err != nil || !st.Mode().IsRegular() {
			return nil
		}
		if len(out) == maxArtifacts {
			cut = true
			return fs.SkipAll
		}
		out = append(out, sync.Artifact{Path: rel, Size: st.Size()})
		return nil
	})
	if err != nil {
		r.note("artifacts: %v", err)
	}
	if cut {
		r.note("artifacts: more than %d files match; the list is cut", maxArtifacts)
	}
	slices.SortFunc(out, func(a, b sync.Artifact) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// metricsFile reads the job's flat JSON object of numbers.
func (r *results) metricsFile(m *schema.Metrics) map[string]float64 {
	if m == nil || m.File == "" {
		return nil
	}
	if !filepath.IsLocal(filepath.FromSlash(m.File)) {
		r.note("metrics file %q leaves the job's folder; not read", m.File)
		return nil
	}
	name := filepath.Join(r.workdir, filepath.FromSlash(m.File))
	if _, err := os.Lstat(name); err != nil {
		r.note("metrics file %s was not written", m.File)
		return nil
	}
	real, ok := r.within(name)
	if !ok {
		r.note("metrics file %s links out of the workspace; not read", m.File)
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
	vals, skipped, err := parseMetrics(b)
	if err != nil {
		r.note("metrics file %s: %v", m.File, err)
		return nil
	}
	for _, k := range skipped {
		r.note("metrics file %s: %q is not a finite number; skipped", m.File, k)
	}
	return vals
}

// parseMetrics keeps the finite numbers of a flat JSON object; skipped
// names the other keys, sorted.
func parseMetrics(b []byte) (map[string]float64, []string, error) {
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
	vals := map[string]float64{}
	var skipped []string
	for k, v := range raw {
		n, ok := v.(json.Number)
		if !ok {
			skipped = append(skipped, k)
			continue
		}
		f, err := n.Float64()
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			skipped = append(skipped, k)
			continue
		}
		vals[k] = f
	}
	slices.Sort(skipped)
	return vals, skipped, nil
}

// mergeMetrics puts the file's values over the log's: what the job wrote
// on purpose wins over what was scraped.
func mergeMetrics(fromLog, fromFile map[string]float64) map[string]float64 {
	if len(fromLog) == 0 && len(fromFile) == 0 {
		return nil
	}
	out := make(map[string]float64, len(fromLog)+len(fromFile))
	for k, v := range fromLog {
		out[k] = v
	}
	for k, v := range fromFile {
		out[k] = v
	}
	return out
}
