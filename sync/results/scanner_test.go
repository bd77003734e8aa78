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
