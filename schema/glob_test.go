package schema

import (
	"strings"
	"testing"
)

func TestValidGlob(t *testing.T) {
	tests := []struct {
		pattern string
		bad     string // substring of the error; "" when valid
	}{
		{"main", ""},
		{"release/*", ""},
		{"release/**", ""},
		{"**", ""},
		{"**/*.py", ""},
		{"a/**/b", ""},
		{"v[0-9].*", ""},
		{`runs\[1\]/**`, ""},
		{"", "empty"},
		{"/abs", "relative"},
		{"a//b", "empty segment"},
		{"a/", "empty segment"},
		{"a**", "whole segment"},
		{"**b/c", "whole segment"},
		{"[a", "bad pattern"},
		{"a/[", "bad pattern"},
		{`a\`, "bad pattern"},
	}
	for _, tt := range tests {
		err := ValidGlob(tt.pattern)
		switch {
		case tt.bad == "" && err != nil:
			t.Errorf("ValidGlob(%q) = %v", tt.pattern, err)
		case tt.bad != "" && (err == nil || !strings.Contains(err.Error(), tt.bad)):
			t.Errorf("ValidGlob(%q) = %v, want %q", tt.pattern, err, tt.bad)
		}
	}
}

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"main", "main", true},
		{"main", "main2", false},
		{"release/*", "release/1.0", true},
		{"release/*", "release/1.0/rc", false},
		{"release/*", "release", false},
		{"release/**", "release/1.0/rc", true},
		{"release/**", "release", true},
		{"mnist/**", "mnist/train.py", true},
		{"mnist/**", "mnist/data/x.csv", true},
		{"mnist/**", "other/train.py", false},
		{"mnist/**", "mnist2/train.py", false},
		{"**", "anything/at/all", true},
		{"**", "", true},
		{"**/*.py", "a/b/c.py", true},
		{"**/*.py", "c.py", true},
		{"**/*.py", "a/b/c.txt", false},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**/b", "a/x/y/c", false},
		{"a/**/b/**/c", "a/1/b/2/b/3/c", true},
		{"a/**/b/**/c", "a/1/b/2/b/3/d", false},
		{"*.pt", "model.pt", true},
		{"*.pt", "ckpt/model.pt", false},
		{"v[0-9]*", "v1.2", true},
		{"v[0-9]*", "vx", false},
		{`runs\[1\]/**`, "runs[1]/a", true},
		{`runs\[1\]/**`, "runs1/a", false},
		{"[", "[", false}, // malformed matches nothing
	}
	for _, tt := range tests {
		if got := MatchGlob(tt.pattern, tt.name); got != tt.want {
			t.Errorf("MatchGlob(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

// TestMatchGlobManyStars: backtracking stays linear in practice even for
// a pattern built to make naive recursion explode.
func TestMatchGlobManyStars(t *testing.T) {
	pattern := strings.Repeat("**/", 50) + "x"
	name := strings.Repeat("a/", 2000) + "b"
	if MatchGlob(pattern, name) {
		t.Error("matched")
	}
}

func TestEscapeGlob(t *testing.T) {
	for _, s := range []string{"plain", "runs[1]", "a*b?c", `back\slash`, "**"} {
		e := EscapeGlob(s)
		if err := ValidGlob(e); err != nil {
			t.Errorf("EscapeGlob(%q) = %q: %v", s, e, err)
		}
		if !MatchGlob(e, s) {
			t.Errorf("EscapeGlob(%q) = %q does not match itself", s, e)
		}
	}
	if MatchGlob(EscapeGlob("a*"), "ab") {
		t.Error("escaped star still matches")
	}
}
