package kube

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
)

// maxScanLine caps how much of one log line the metric patterns see.
const maxScanLine = 64 << 10

// metricScanner applies results.metrics.patterns to the run's log as it is
// delivered; for each metric the last match wins. A carriage return ends a
// line too, so a progress bar that redraws its line yields its last value.
// (sync/local has its own; adapters do not import each other.)
type metricScanner struct {
	names []string
	res   []*regexp.Regexp
	vals  map[string]float64
	line  []byte
	cut   bool // the current line passed maxScanLine
}

// newMetricScanner compiles patterns; bad ones are left out and described
// in notes (schema validation normally catches them first).
func newMetricScanner(patterns map[string]string) (*metricScanner, []string) {
	s := &metricScanner{vals: map[string]float64{}}
	var notes []string
	names := make([]string, 0, len(patterns))
	for n := range patterns {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		re, err := regexp.Compile(patterns[n])
		switch {
		case err != nil:
			notes = append(notes, fmt.Sprintf("metric %q: pattern does not compile: %v", n, err))
		case re.NumSubexp() != 1:
			notes = append(notes, fmt.Sprintf("metric %q: pattern has %d groups, want 1", n, re.NumSubexp()))
		default:
			s.names, s.res = append(s.names, n), append(s.res, re)
		}
	}
	return s, notes
}

// Write feeds log text; it never fails.
func (s *metricScanner) Write(p []byte) (int, error) {
	n := len(p)
	if len(s.res) == 0 {
		return n, nil
	}
	for len(p) > 0 {
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			s.add(p)
			break
		}
		s.add(p[:i])
		s.endLine()
		p = p[i+1:]
	}
	return n, nil
}

func (s *metricScanner) add(p []byte) {
	if s.cut {
		return
	}
	if room := maxScanLine - len(s.line); len(p) > room {
		p, s.cut = p[:room], true
	}
	s.line = append(s.line, p...)
}

func (s *metricScanner) endLine() {
	for i, re := range s.res {
		if len(s.line) == 0 {
			break
		}
		m := re.FindSubmatch(s.line)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(string(bytes.TrimSpace(m[1])), 64)
		if err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
			s.vals[s.names[i]] = v
		}
	}
	s.line, s.cut = s.line[:0], false
}

// Values ends the last line and returns what matched (nil when nothing).
func (s *metricScanner) Values() map[string]float64 {
	s.endLine()
	if len(s.vals) == 0 {
		return nil
	}
	return s.vals
}
