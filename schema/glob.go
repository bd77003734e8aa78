package schema

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Globs in manifests (on.push.branches, on.paths, results.artifacts) use
// path.Match syntax within one slash-separated segment — * and ? never
// cross a '/', [a-z] is a class, \ escapes — plus "**" as a whole segment,
// matching zero or more segments: "mnist/**" matches "mnist/train.py" and
// "mnist/data/x.csv"; "release/*" matches "release/1.0" but not
// "release/1.0/rc".

// ValidGlob reports why pattern is not a usable glob, or nil.
func ValidGlob(pattern string) error {
	if pattern == "" {
		return errors.New("empty glob")
	}
	if strings.HasPrefix(pattern, "/") {
		return errors.New("glob starts with '/'; globs are relative")
	}
	for i, seg := range strings.Split(pattern, "/") {
		switch {
		case seg == "" && i > 0:
			return errors.New("glob has an empty segment ('//' or a trailing '/')")
		case seg == "**":
			continue
		case strings.Contains(seg, "**"):
			return fmt.Errorf("** must be a whole segment, as in a/**/b, not %q", seg)
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("bad pattern %q (unclosed [ or trailing \\)", seg)
		}
	}
	return nil
}

// MatchGlob reports whether name (a slash-separated branch name or
// repository path) matches pattern. A malformed pattern matches nothing.
func MatchGlob(pattern, name string) bool {
	ps := strings.Split(pattern, "/")
	ns := strings.Split(name, "/")
	// Greedy matching with one backtrack point, as for '*' in a string:
	// "**" may absorb segments; on a mismatch the most recent "**" takes
	// one more segment. Linear in len(ps)*len(ns), whatever the pattern.
	pi, ni := 0, 0
	star, starNi := -1, 0
	for ni < len(ns) {
		if pi < len(ps) && ps[pi] == "**" {
			star, starNi = pi, ni
			pi++
			continue
		}
		if pi < len(ps) {
			if ok, err := path.Match(ps[pi], ns[ni]); err == nil && ok {
				pi++
				ni++
				continue
			}
		}
		if star < 0 {
			return false
		}
		starNi++
		pi, ni = star+1, starNi
	}
	for pi < len(ps) && ps[pi] == "**" {
		pi++
	}
	return pi == len(ps)
}

// EscapeGlob quotes the glob metacharacters in a literal path so that it
// matches only itself (a folder may well be called "runs[1]").
func EscapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
