package results

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
)

// maxLine caps how much of one log line the metric patterns see.
const maxLine = 64 << 10

// Scanner applies results.metrics.patterns to the log as it streams,
// line by line; for each metric the last match wins. Carriage returns end a
// line too, so progress bars that redraw one line yield their latest value.
type Scanner struct {
	names []string
	res   []*regexp.Regexp
	vals  map[string]float64
	line  []byte
	long  bool // the current line passed maxLine; the rest is ignored
}

// NewScanner compiles the patterns; those that do not compile or do
// not have exactly one group are left out and described in notes.
func NewScanner(patterns map[string]string) (s *Scanner, notes []string) {
	s = &Scanner{vals: map[string]float64{}}
	names := make([]string, 0, len(patterns))
	for n := range patterns {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		re, err := regexp.Compile(patterns[n])
		if err != nil {
			notes = append(notes, fmt.Sprintf("metric %q: pattern does not compile: %v", n, err))
			continue
		}
		if re.NumSubexp() != 1 {
			notes = append(notes, fmt.Sprintf("metric %q: pattern has %d groups, want 1", n, re.NumSubexp()))
			continue
		}
		s.names = append(s.names, n)
		s.res = append(s.res, re)
	}
	return s, notes
}

// Write feeds log bytes; it never fails.
func (s *Scanner) Write(p []byte) (int, error) {
	n := len(p)
	if len(s.res) == 0 {
		return n, nil
	}
	for len(p) > 0 {
		i := bytes.IndexAny(p, "\n\r")
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

func (s *Scanner) add(p []byte) {
	if s.long {
		return
	}
	if room := maxLine - len(s.line); len(p) > room {
		p, s.long = p[:room], true
	}
	s.line = append(s.line, p...)
}

func (s *Scanner) endLine() {
	if len(s.line) > 0 {
		for i, re := range s.res {
			m := re.FindSubmatch(s.line)
			if m == nil {
				continue
			}
			v, err := strconv.ParseFloat(string(bytes.TrimSpace(m[1])), 64)
			if err == nil && !math.IsInf(v, 0) && !math.IsNaN(v) {
				s.vals[s.names[i]] = v
			}
		}
	}
	s.line, s.long = s.line[:0], false
}

// Values ends the last line and returns the metrics found.
func (s *Scanner) Values() map[string]float64 {
	s.endLine()
	return s.vals
}

// Seen returns a copy of the metrics of the lines ended so far, without
// ending the current one: with the offset after the last line end fed, it
// is the scanner's whole state, which Resume restores.
func (s *Scanner) Seen() map[string]float64 {
	out := make(map[string]float64, len(s.vals))
	for k, v := range s.vals {
		out[k] = v
	}
	return out
}

// Resume starts from metrics found before (Seen, saved across a restart);
// the log is then fed from the line end they were taken at.
func (s *Scanner) Resume(vals map[string]float64) {
	for k, v := range vals {
		s.vals[k] = v
	}
}
