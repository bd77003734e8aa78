package github

import (
	"regexp"
	"slices"
	"strings"
)

// MinSecretLen is the shortest value a Redactor hides: shorter "secrets"
// (a flag such as "1" or "yes") would turn every report into asterisks
// while hiding nothing worth hiding.
const MinSecretLen = 4

// Redacted replaces every hidden value.
const Redacted = "***"

// tokenPattern matches GitHub's token formats (personal, OAuth, app,
// refresh and fine-grained tokens), so a token printed by a job is hidden
// even when nobody configured it.
var tokenPattern = regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,247})\b`)

// Redactor hides secret values and tokens in text that is posted
// somewhere people look.
type Redactor struct {
	r *strings.Replacer
}

// NewRedactor hides each value (surrounding space trimmed), and each line
// of a multi-line value, longest first so that a value containing another
// is hidden whole.
func NewRedactor(values ...string) *Redactor {
	var vs []string
	add := func(v string) {
		v = strings.TrimSpace(v)
		if len(v) >= MinSecretLen && !slices.Contains(vs, v) {
			vs = append(vs, v)
		}
	}
	for _, v := range values {
		add(v)
		if strings.Contains(v, "\n") {
			for _, line := range strings.Split(v, "\n") {
				add(line)
			}
		}
	}
	slices.SortFunc(vs, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(vs))
	for _, v := range vs {
		pairs = append(pairs, v, Redacted)
	}
	return &Redactor{r: strings.NewReplacer(pairs...)}
}

// Redact returns s with every secret value and GitHub token replaced by
// Redacted.
func (r *Redactor) Redact(s string) string {
	if r != nil && r.r != nil {
		s = r.r.Replace(s)
	}
	return tokenPattern.ReplaceAllString(s, Redacted)
}
