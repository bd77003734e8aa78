package results

import (
	"reflect"
	"testing"
)

func TestScannerAcrossChunks(t *testing.T) {
	s, notes := NewScanner(map[string]string{
		"accuracy": `Accuracy: \d+/\d+ \(([\d.]+)%\)`,
		"loss":     `loss=([\d.e-]+)`,
		"bad":      `(`,
		"twogroup": `(a)(b)`,
	})
	if len(notes) != 2 {
		t.Errorf("notes %q", notes)
	}
	for _, chunk := range []string{"Test set: Accuracy: 97", "/100 (97.00%)\nloss=0.5\rloss=0.25\r", "Accuracy: 9/10 (90.0%)\nloss=inf\nloss=1e-3"} {
		_, _ = s.Write([]byte(chunk))
	}
	got := s.Values()
	want := map[string]float64{"accuracy": 90, "loss": 0.001}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	empty, _ := NewScanner(nil)
	_, _ = empty.Write([]byte("Accuracy: 1/1 (100%)\n"))
	if v := empty.Values(); len(v) != 0 {
		t.Errorf("no patterns: %v", v)
	}
}

func TestMergeMetricsFileWins(t *testing.T) {
	got := MergeMetrics(map[string]float64{"a": 1, "b": 2}, map[string]float64{"b": 3})
	if !reflect.DeepEqual(got, map[string]float64{"a": 1, "b": 3}) {
		t.Errorf("got %v", got)
	}
	if MergeMetrics(nil, map[string]float64{}) != nil {
		t.Error("nothing should merge to nil")
	}
}

// TestScannerSeenAndResume: Seen is the state at the last line end (the
// line being written is not in it), and a scanner resumed from it and fed
// the rest of the log finds what one scanner fed the whole log finds.
func TestScannerSeenAndResume(t *testing.T) {
	patterns := map[string]string{"loss": `loss=([\d.]+)`, "acc": `acc=([\d.]+)`}
	log := "loss=0.9\nacc=0.5\nloss=0.7\nacc=0.6 and lo"
	rest := "ss=0.1\nloss=0.05\n"
	a, _ := NewScanner(patterns)
	_, _ = a.Write([]byte(log))
	seen := a.Seen()
	if want := map[string]float64{"loss": 0.7, "acc": 0.5}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("Seen = %v, want %v (the unended line is not in it)", seen, want)
	}
	seen["loss"] = 42 // a copy
	lineEnd := len("loss=0.9\nacc=0.5\nloss=0.7\n")
	b, _ := NewScanner(patterns)
	b.Resume(a.Seen())
	_, _ = b.Write([]byte(log[lineEnd:] + rest))
	_, _ = a.Write([]byte(rest))
	if got, want := b.Values(), a.Values(); !reflect.DeepEqual(got, want) {
		t.Errorf("resumed %v, whole log %v", got, want)
	}
}
