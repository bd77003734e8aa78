package local

import (
	"fmt"
	"path"
	"strings"
)

// This is a small slash-path glob for results.artifacts. It lives here until
// the schema package exports one (the lead dedupes later).
//
// A pattern is split at "/"; a segment that is exactly "**" matches zero or
// more whole segments, every other segment is matched by path.Match (so "*"
// and "?" never cross a "/").

// checkGlob reports a malformed pattern.
func checkGlob(pattern string) error {
	if pattern == "" {
		return fmt.Errorf("glob: empty pattern")
	}
	for _, seg := range strings.Split(pattern, "/") {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("glob %q: segment %q: %w", pattern, seg, err)
		}
	}
	return nil
}

// matchGlob reports whether the slash-separated relative path name matches
// pattern. A malformed pattern matches nothing (check it with checkGlob).
func matchGlob(pattern, name string) bool {
	return matchSegs(strings.Split(pattern, "/"), strings.Split(name, "/"))
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			// Collapse runs of "**"; then try every split point.
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return true
			}
			for i := 0; i <= len(name); i++ {
				if matchSegs(pat, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		ok, err := path.Match(pat[0], name[0])
		if err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
