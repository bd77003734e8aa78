package schema

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// problemSet gathers the problems of one manifest. It keeps one problem
// per field: the JSON schema and the checks after it often see the same
// mistake, and the first word on it (the schema's) is enough.
type problemSet struct {
	list    Problems
	fields  map[string]bool
	dropped int // problems past maxProblems
}

// maxProblems caps the problems kept for one file: nobody reads more, and
// a hostile file could otherwise make thousands.
const maxProblems = 100

// full reports whether further problems would be dropped, so that callers
// can skip the work of wording them.
func (s *problemSet) full() bool { return len(s.list) >= maxProblems }

func (s *problemSet) add(p Problem) {
	if s.full() {
		s.dropped++
		return
	}
	if p.Field != "" {
		if s.fields == nil {
			s.fields = make(map[string]bool)
		}
		if s.fields[p.Field] {
			return
		}
		s.fields[p.Field] = true
	}
	s.list = append(s.list, p)
}

// covers reports whether field, or a field above it, already has a
// problem; checks skip such fields rather than pile on.
func (s *problemSet) covers(field string) bool {
	if len(s.fields) == 0 {
		return false
	}
	for f := field; ; {
		if s.fields[f] {
			return true
		}
		i := strings.LastIndexAny(f, ".[")
		if i <= 0 {
			return false
		}
		f = f[:i]
	}
}

// sorted returns the problems in file order.
func (s *problemSet) sorted() Problems {
	slices.SortStableFunc(s.list, compareProblems)
	if s.dropped > 0 {
		last := s.list[len(s.list)-1]
		s.list = append(s.list, Problem{File: last.File, Line: last.Line, Column: last.Column,
			Message: fmt.Sprintf("%d more problems not shown", s.dropped), Allowed: "fix the ones above first"})
		s.dropped = 0
	}
	return s.list
}

func compareProblems(a, b Problem) int {
	return cmp.Or(
		cmp.Compare(a.File, b.File),
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.Column, b.Column),
		cmp.Compare(a.Field, b.Field),
		cmp.Compare(a.Message, b.Message),
	)
}

// report adds a problem about the field at path, positioned at its value
// (or at its key when atKey), or at the nearest enclosing node when the
// field is absent (a default that does not fit, a required field). A
// field that already has a problem, or sits under one, is skipped.
func (d *document) report(path []string, atKey bool, msg, allowed string) {
	if d.probs.full() {
		d.probs.dropped++
		return
	}
	field := renderPath(path)
	if d.probs.covers(field) {
		return
	}
	key, val, found := d.lookup(path)
	n := val
	if found && atKey && key != nil {
		n = key
	}
	d.probs.add(Problem{File: d.file, Line: n.Line, Column: n.Column, Field: field, Message: msg, Allowed: allowed})
}

// present reports whether the document sets the field at path.
func (d *document) present(path ...string) bool {
	_, _, found := d.lookup(path)
	return found
}

// checkDuration checks the duration text at path, if any, and reports
// whether it does not parse (so that decoding must skip it: a failed
// UnmarshalText stops a decoder).
func (d *document) checkDuration(path []string) (unparsable bool) {
	_, n, found := d.lookup(path)
	if !found || n.Kind != yaml.ScalarNode || scalarJSON(n).kind != "string" {
		return false // absent, or not text: the schema says so
	}
	s := n.Value
	v, err := time.ParseDuration(s)
	switch {
	case err != nil:
		d.report(path, false, fmt.Sprintf("%s is not a duration", quoteShort(s)), durationAllowed)
		return true
	case v <= 0:
		d.report(path, false, fmt.Sprintf("%s is not more than zero", quoteShort(s)), durationAllowed)
	}
	return false
}

const durationAllowed = "a positive duration such as 90m, 6h or 1h30m; units ns, us, ms, s, m, h"
