package schema

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// billionLaughs is the classic alias bomb: ten aliases per level, nine
// levels, 10^9 strings once expanded, from well under a kilobyte.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("env:\n  a: &a \"lol\"\n")
	for c := 'b'; c <= 'j'; c++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*%c,", c-1), 10), ",")
		fmt.Fprintf(&b, "  %c: &%c [%s]\n", c, c, refs)
	}
	return b.String()
}

// TestHostileFiles: each hostile input is refused quickly with a single,
// clear problem.
func TestHostileFiles(t *testing.T) {
	deepFlow := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	var deepBlock strings.Builder
	deepBlock.WriteString(header + "env:\n")
	for i := range 100 {
		deepBlock.WriteString(strings.Repeat("  ", i+1) + fmt.Sprintf("k%d:\n", i))
	}
	var manyKeys strings.Builder
	manyKeys.WriteString(header + "env:\n")
	for i := range 30000 {
		fmt.Fprintf(&manyKeys, "  K%d: x\n", i)
	}
	var manyItems strings.Builder
	manyItems.WriteString(header + "secrets:\n")
	for range 30000 {
		manyItems.WriteString("  - A\n")
	}

	tests := []struct {
		name, data, want string
		line             int
	}{
		{"too large", header + "# " + strings.Repeat("x", MaxManifestSize) + "\n", "too large", 0},
		{"NUL byte", header + "name: a\x00b\n", "NUL byte", 5},
		{"invalid UTF-8", header + "name: \xff\xfe\n", "not valid UTF-8", 5},
		{"billion laughs", billionLaughs(), "anchor &a is not supported", 6},
		{"anchor only", header + "env: &e {A: b}\n", "anchor &e", 5},
		{"merge key", header + "x: &x {a: 1}\nresources:\n  <<: *x\n", "anchor &x", 5},
		{"deep flow nesting", deepFlow, "nesting is deeper than 64", 1},
		{"deep block nesting", deepBlock.String(), "nesting is deeper than 64", 0},
		{"too deep for the parser", strings.Repeat("[", 20000), "nesting is deeper than 64", 0},
		{"many keys", manyKeys.String(), "more than 20000 entries", 0},
		{"many items", manyItems.String(), "more than 20000 entries", 0},
		{"two documents", header + "---\n" + header, "more than one YAML document", 5},
		{"two documents, second bad", header + "---\n[unclosed\n", "after the first document", 0},
		{"empty", "", "empty", 1},
		{"only comments", "# just\n# comments\n", "empty", 1},
		{"only a marker", "---\n", "empty", 0},
		{"scalar", "hello\n", "top level is text", 1},
		{"list", "- a\n- b\n", "top level is a list", 1},
		{"null", "~\n", "top level is empty", 1},
		{"syntax", "a: b: c\n", "invalid YAML", 1},
		{"unclosed quote", "name: \"abc\n", "invalid YAML", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			job, err := Load("j/job.yaml", []byte(tt.data))
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if err == nil {
				t.Fatalf("loaded: %+v", job)
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error %T: %v", err, err)
			}
			if len(ps) != 1 {
				t.Fatalf("%d problems, want 1:\n%v", len(ps), err)
			}
			p := ps[0]
			if !strings.Contains(p.Message, tt.want) || p.File != "j/job.yaml" {
				t.Errorf("problem %q, want %q", p, tt.want)
			}
			if tt.line != 0 && p.Line != tt.line {
				t.Errorf("line %d, want %d", p.Line, tt.line)
			}
		})
	}
}

// TestDuplicateKeys: duplicates are ordinary problems, next to others.
func TestDuplicateKeys(t *testing.T) {
	_, err := Load("j/job.yaml", []byte(header+"image: again\nretries: 99\nenv: {A: x, A: y}\n"))
	got := fmt.Sprint(err)
	for _, want := range []string{
		`j/job.yaml:5:1: image: duplicate key "image" (first at line 3)`,
		`j/job.yaml:6:10: retries: 99 is too large`,
		`j/job.yaml:7:13: env.A: duplicate key "A" (first at line 7)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

// TestManyProblemsCapped: a file with thousands of mistakes reports a
// readable number of them, and says how many more there are.
func TestManyProblemsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for i := range 5000 {
		fmt.Fprintf(&b, "unknown%d: x\n", i)
	}
	start := time.Now()
	_, err := Load("j/job.yaml", []byte(b.String()))
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("%T %v", err, err)
	}
	if len(ps) != maxProblems+1 {
		t.Fatalf("%d problems, want %d", len(ps), maxProblems+1)
	}
	if last := ps[len(ps)-1]; !strings.Contains(last.Message, "4900 more problems not shown") {
		t.Errorf("last problem %q", last)
	}
}

// TestLargeValidManifest: a big but legitimate manifest still loads.
func TestLargeValidManifest(t *testing.T) {
	var b strings.Builder
	b.WriteString(header + "env:\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "  VAR_%d: %q\n", i, strings.Repeat("v", 100))
	}
	j, err := Load("j/job.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Env) != 2000 {
		t.Errorf("%d env vars", len(j.Env))
	}
}

func TestOffsetPosition(t *testing.T) {
	data := []byte("ab\ncdé\nf")
	for _, tt := range []struct{ off, line, col int }{{0, 1, 1}, {2, 1, 3}, {3, 2, 1}, {7, 2, 4}, {8, 3, 1}} {
		if l, c := offsetPosition(data, tt.off); l != tt.line || c != tt.col {
			t.Errorf("offset %d: %d:%d, want %d:%d", tt.off, l, c, tt.line, tt.col)
		}
	}
}
