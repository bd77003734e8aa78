package render

import "testing"

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "x", "EMPTY": "", "B": "$(A)"}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"$(A)", "x"},
		{"<$(A)$(A)>", "<xx>"},
		{"$(EMPTY)|", "|"},
		{"$(B)", "$(A)"}, // values are not expanded again
		{"$(MISSING)", "$(MISSING)"},
		{"$()", "$()"},
		{"$$(A)", "$(A)"},
		{"$$$(A)", "$x"},
		{"$$$$", "$$"},
		{"$", "$"},
		{"a$", "a$"},
		{"$A", "$A"},
		{"${A}", "${A}"},
		{"$(A", "$(A"},
		{"$(A $(A)", "$(A $(A)"},
		{"x$(A)y$$z", "xxy$z"},
	}
	for _, tt := range tests {
		if got := Expand(tt.in, lookup); got != tt.want {
			t.Errorf("Expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzLiteral(f *testing.F) {
	for _, s := range []string{"", "$", "$$", "$(A)", "$$(A)", "a$(", hostileBranch} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		all := func(string) (string, bool) { return "EXPANDED", true }
		if got := Expand(literal(s), all); got != s {
			t.Fatalf("Expand(literal(%q)) = %q", s, got)
		}
	})
}
