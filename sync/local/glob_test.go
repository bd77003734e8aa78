package local

import (
	"strings"
	"testing"
)

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pat, name string
		want      bool
	}{
		{"model.pt", "model.pt", true},
		{"model.pt", "out/model.pt", false},
		{"*.pt", "model.pt", true},
		{"*.pt", "out/model.pt", false}, // * stays in one folder
		{"**/*.pt", "model.pt", true},   // ** may be no folder at all
		{"**/*.pt", "a/b/c/model.pt", true},
		{"out/**", "out/a/b", true},
		{"out/**", "out", true},
		{"out/**", "outer/a", false},
		{"out/**/x.txt", "out/x.txt", true},
		{"out/**/x.txt", "out/a/b/x.txt", true},
		{"out/**/x.txt", "out/a/b/y.txt", false},
		{"**/**/x", "a/x", true},
		{"ckpt-?.pt", "ckpt-1.pt", true},
		{"ckpt-?.pt", "ckpt-10.pt", false},
		{"[ab].txt", "b.txt", true},
		{"[ab].txt", "c.txt", false},
		{"a**b", "axxb", true}, // ** inside a segment is a plain *
		{"a**b", "ax/xb", false},
	} {
		if got := matchGlob(tc.pat, tc.name); got != tc.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", tc.pat, tc.name, got, tc.want)
		}
	}
	for _, bad := range []string{"", "[", "out/[a-"} {
		if checkGlob(bad) == nil {
			t.Errorf("checkGlob(%q) accepted a bad pattern", bad)
		}
	}
}

func FuzzGlob(f *testing.F) {
	f.Add("out/**/*.pt", "out/a/b.pt")
	f.Add("**", "")
	f.Add("[", "x")
	f.Fuzz(func(t *testing.T, pat, name string) {
		if strings.Count(pat, "**") > 8 || len(name) > 256 {
			return // keep the backtracking small
		}
		got := matchGlob(pat, name)
		if got && checkGlob(pat) != nil {
			t.Fatalf("malformed pattern %q matched %q", pat, name)
		}
		// "**/" in front matches the same names in any folder.
		if got && checkGlob(pat) == nil && !matchGlob("**/"+pat, "x/"+name) {
			t.Fatalf("%q matches %q but **/%q does not match x/%q", pat, name, pat, name)
		}
	})
}
