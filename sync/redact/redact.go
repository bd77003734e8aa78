// Package redact hides secret values in text before anyone can see it: in
// a run's log as it enters the store, in a run's reason, problems, metric
// and artifact names, in commit statuses and pull request comments. It is
// pure (no I/O) so that every surface uses the same rules.
//
// A Redactor knows a set of secrets and hides each one, the encodings a
// job is likely to print it in (see Forms), and GitHub tokens by their
// shape even when nobody configured them. Text that arrives in pieces (a
// log streamed chunk by chunk) goes through Write and Flush: the end of a
// piece that may be the start of a secret is held back until the next
// piece shows whether it is one, so a secret split across writes is hidden
// whole.
//
// Redaction must come before any escaping (HTML, Markdown, JSON): an
// escaped secret ("a&amp;b") no longer looks like the secret.
package redact

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
)

// MinLen is the shortest secret hidden. Hiding shorter values (a flag such
// as "1" or "yes") would turn every log into asterisks while protecting
// nothing worth protecting; the syncer refuses such secrets where they are
// configured (see the README), and a Redactor ignores them.
const MinLen = 4

// Mask replaces every hidden value.
const Mask = "***"

// tokenRE matches GitHub's token formats (personal, OAuth, app, refresh
// and fine-grained tokens), so a token printed by a job is hidden even
// when nobody configured it.
var tokenRE = regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,247})\b`)

// maxToken is the longest text tokenRE matches.
const maxToken = len("github_pat_") + 247

// Redactor hides a fixed set of secrets. Its methods are safe for
// concurrent use; the nil Redactor hides GitHub tokens only.
type Redactor struct {
	pats [][]byte // every form of every secret, longest first, distinct
	// byFirst lists the patterns starting with a byte, longest first.
	byFirst [256][]int32
	// pairs has bit a<<8|b set when some pattern starts with the bytes a, b
	// (every pattern has at least MinLen bytes): most positions of a log
	// are rejected with one lookup.
	pairs  [1 << 16 / 64]uint64
	maxLen int
}

// New returns a Redactor hiding each value (surrounding space trimmed),
// each line of a multi-line value, and their encodings (Forms). Values
// shorter than MinLen are ignored.
func New(secrets ...string) *Redactor {
	seen := map[string]bool{}
	var pats []string
	add := func(v string) {
		for _, f := range Forms(v) {
			if !seen[f] {
				seen[f] = true
				pats = append(pats, f)
			}
		}
	}
	for _, v := range secrets {
		add(v)
		if strings.Contains(v, "\n") {
			for _, line := range strings.Split(v, "\n") {
				add(line)
			}
		}
	}
	// Longest first: a secret containing another is hidden whole.
	slices.SortStableFunc(pats, func(a, b string) int { return len(b) - len(a) })
	r := &Redactor{}
	for i, p := range pats {
		r.pats = append(r.pats, []byte(p))
		r.byFirst[p[0]] = append(r.byFirst[p[0]], int32(i))
		pair := uint16(p[0])<<8 | uint16(p[1])
		r.pairs[pair/64] |= 1 << (pair % 64)
		r.maxLen = max(r.maxLen, len(p))
	}
	return r
}

// Len is the number of patterns (secrets and their forms) hidden.
func (r *Redactor) Len() int {
	if r == nil {
		return 0
	}
	return len(r.pats)
}

// String returns s with every secret and GitHub token replaced by Mask.
func (r *Redactor) String(s string) string {
	if s == "" {
		return s
	}
	out, _ := r.scan([]byte(s), true, false)
	return string(out)
}

// Bytes is String for a byte slice; p is not modified.
func (r *Redactor) Bytes(p []byte) []byte {
	out, _ := r.scan(p, true, false)
	return out
}

// Tail is what a stream of text held back between two writes: bytes that
// may be the start of a secret. It is a value; a caller that could not
// store Write's output keeps the old Tail and writes the same bytes again.
type Tail struct {
	held     []byte
	prevWord bool // the last byte released was a word character
}

// Len is the number of bytes held back.
func (t Tail) Len() int { return len(t.held) }

// Write redacts the next piece p of a stream whose earlier pieces left t.
// It returns the text that may be released now and the new Tail, which
// holds at most a secret's or a token's length of p.
func (r *Redactor) Write(t Tail, p []byte) (out []byte, next Tail) {
	buf := make([]byte, 0, len(t.held)+len(p))
	buf = append(append(buf, t.held...), p...)
	out, cut := r.scan(buf, false, t.prevWord)
	next = Tail{held: buf[cut:], prevWord: t.prevWord}
	if cut > 0 {
		next.prevWord = isWord(buf[cut-1])
	}
	return out, next
}

// Flush redacts and releases what t holds: the stream has ended.
func (r *Redactor) Flush(t Tail) []byte {
	out, _ := r.scan(t.held, true, t.prevWord)
	return out
}

// span is a part of a buffer to hide, [start, end).
type span struct{ start, end int }

// scan finds what to hide in buf. With final unset it stops where a
// secret or a token may start that buf does not hold whole: cut is where
// the released text ends and the held text begins. prevWord says whether
// the byte before buf (already released) was a word character.
func (r *Redactor) scan(buf []byte, final, prevWord bool) (out []byte, cut int) {
	lits, cut := r.literals(buf, final)
	if !final {
		cut = holdTokens(buf, cut, lits, prevWord)
	}
	spans := lits
	if mightHoldToken(buf[:cut]) {
		for _, m := range tokenRE.FindAllIndex(buf, -1) {
			if m[1] > cut {
				break
			}
			if m[0] == 0 && prevWord {
				continue // the word began before buf: not a token
			}
			spans = append(spans, span{m[0], m[1]})
		}
		slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	}
	out = make([]byte, 0, cut)
	pos := 0
	for _, s := range merge(spans, cut) {
		out = append(out, buf[pos:s.start]...)
		out = append(out, Mask...)
		pos = s.end
	}
	out = append(out, buf[pos:cut]...)
	return out, cut
}

// merge joins overlapping spans (sorted by start) that begin before cut.
func merge(spans []span, cut int) []span {
	var out []span
	for _, s := range spans {
		if s.start >= cut {
			break
		}
		if n := len(out); n > 0 && s.start < out[n-1].end {
			out[n-1].end = max(out[n-1].end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

// literals finds the secrets' forms in buf, leftmost first and longest at
// each position. Unless final, it stops at the first position where a
// pattern may start that buf ends inside of, and returns it as cut.
func (r *Redactor) literals(buf []byte, final bool) ([]span, int) {
	if r == nil || len(r.pats) == 0 {
		return nil, len(buf)
	}
	var spans []span
	for j := 0; j < len(buf); {
		cands := r.byFirst[buf[j]]
		if len(cands) == 0 {
			j++
			continue
		}
		if j+1 < len(buf) {
			pair := uint16(buf[j])<<8 | uint16(buf[j+1])
			if r.pairs[pair/64]&(1<<(pair%64)) == 0 {
				j++
				continue
			}
		}
		n, undecided := r.matchAt(buf[j:], cands, final)
		switch {
		case undecided:
			return spans, j
		case n > 0:
			spans = append(spans, span{j, j + n})
			j += n
		default:
			j++
		}
	}
	return spans, len(buf)
}

// matchAt returns the length of the longest pattern rest starts with, or
// undecided when a longer pattern may still follow (rest ends inside it).
func (r *Redactor) matchAt(rest []byte, cands []int32, final bool) (n int, undecided bool) {
	for _, c := range cands { // longest first
		p := r.pats[c]
		if len(rest) >= len(p) {
			if bytes.Equal(rest[:len(p)], p) {
				return len(p), false
			}
		} else if !final && bytes.HasPrefix(p, rest) {
			return 0, true
		}
	}
	return 0, false
}

// holdTokens moves cut back so that no GitHub token straddles it: a word
// that reaches the end of buf and may be the start of a token is held
// whole, and so is a whole token that cut would split. A literal span
// that the new cut would split moves it further back.
func holdTokens(buf []byte, cut int, lits []span, prevWord bool) int {
	for {
		moved := false
		if cut > 0 && isWord(buf[cut-1]) {
			s, e := cut-1, cut
			for s > 0 && isWord(buf[s-1]) {
				s--
			}
			for e < len(buf) && isWord(buf[e]) {
				e++
			}
			bounded := s > 0 || !prevWord
			switch {
			case !bounded:
			case e == len(buf) && tokenPrefix(buf[s:e]):
				cut, moved = s, true
			case e > cut && tokenRE.Match(buf[s:e]):
				cut, moved = s, true
			}
		}
		for _, l := range lits {
			if l.start < cut && cut < l.end {
				cut, moved = l.start, true
			}
		}
		if !moved {
			return cut
		}
	}
}

// tokenPrefix reports whether the word w may be the beginning of a token.
func tokenPrefix(w []byte) bool {
	const pat = "github_pat_"
	if len(w) > maxToken {
		return false
	}
	if len(w) <= len(pat) && string(w) == pat[:len(w)] {
		return true
	}
	if bytes.HasPrefix(w, []byte(pat)) {
		return true // the rest is word characters, all allowed
	}
	switch {
	case len(w) <= 2:
		return string(w) == "gh"[:len(w)]
	case w[0] != 'g' || w[1] != 'h' || !strings.ContainsRune("pousr", rune(w[2])):
		return false
	case len(w) == 3:
		return true
	case w[3] != '_':
		return false
	}
	for _, c := range w[4:] {
		if c == '_' {
			return false
		}
	}
	return true
}

// mightHoldToken is a cheap test before running the token expression.
func mightHoldToken(b []byte) bool {
	return bytes.Contains(b, []byte("gh")) || bytes.Contains(b, []byte("github_pat_"))
}

func isWord(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
