package results

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	for _, tc := range []struct {
		in      string
		vals    string
		skipped []string
		err     string
	}{
		{`{"loss": 0.25, "acc": 97}`, "map[acc:97 loss:0.25]", nil, ""},
		{`{"a": 1, "s": "x", "b": true, "o": {"n": 1}, "big": 1e999}`, "map[a:1]", []string{"b", "big", "o", "s"}, ""},
		{`{}`, "map[]", nil, ""},
		{`[1, 2]`, "", nil, "want a JSON object"},
		{`null`, "", nil, "got null"},
		{`{"a": 1} {"b": 2}`, "", nil, "more after it"},
		{`{"a": `, "", nil, "want a JSON object"},
	} {
		vals, skipped, err := ParseMetrics([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseMetrics(%s): err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || fmt.Sprint(vals) != tc.vals || !slices.Equal(skipped, tc.skipped) {
			t.Errorf("ParseMetrics(%s) = %v, %v, %v; want %s, %v", tc.in, vals, skipped, err, tc.vals, tc.skipped)
		}
	}
}

func FuzzParseMetrics(f *testing.F) {
	f.Add([]byte(`{"a": 1, "b": "x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		vals, _, err := ParseMetrics(b)
		if err == nil && vals == nil {
			t.Fatal("no error and no map")
		}
	})
}

func TestPatternScanner(t *testing.T) {
	s, notes := NewScanner(map[string]string{
		"acc":  `Accuracy: ([\d.]+)%`,
		"bad":  `(`,
		"two":  `(a)(b)`,
		"none": `nothing`,
	})
	if len(notes) != 3 {
		t.Errorf("notes %q, want 3 (bad, two, none)", notes)
	}
	// Chunks split lines anywhere; \r ends a line; the last match wins.
	for _, chunk := range []string{"Accu", "racy: 1", "0%\nnoise\r", "Accuracy: 20.5%\rAccuracy: x%\n", "Accuracy: 30%"} {
		s.Write([]byte(chunk))
	}
	if got := s.Values(); fmt.Sprint(got) != "map[acc:30]" {
		t.Errorf("values %v", got)
	}

	// A line over the cap is cut, not buffered without end.
	s2, _ := NewScanner(map[string]string{"v": `^v=(\d+)`})
	s2.Write([]byte("v=1" + strings.Repeat("x", 3*maxLine)))
	if len(s2.line) != maxLine {
		t.Errorf("line buffer %d bytes, want the cap %d", len(s2.line), maxLine)
	}
	s2.Write([]byte("\nv=2\n"))
	if got := s2.Values(); got["v"] != 2 {
		t.Errorf("values %v", got)
	}
}
