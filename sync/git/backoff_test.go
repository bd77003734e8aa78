package git

import (
	"testing"
	"time"
)

func TestBackoffGrowsAndCaps(t *testing.T) {
	var ceilings []time.Duration
	b := Backoff{Base: time.Second, Max: 10 * time.Second,
		rand: func(n int64) int64 { ceilings = append(ceilings, time.Duration(n-1)); return n - 1 }}
	for range 6 {
		b.Next()
	}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, w := range want {
		if ceilings[i] != w*time.Second {
			t.Fatalf("attempt %d ceiling = %v, want %v (all: %v)", i, ceilings[i], w*time.Second, ceilings)
		}
	}
	if b.Attempts() != 6 {
		t.Fatalf("attempts = %d", b.Attempts())
	}
	b.Reset()
	b.Next()
	if ceilings[len(ceilings)-1] != time.Second {
		t.Fatalf("after Reset ceiling = %v", ceilings[len(ceilings)-1])
	}
}

func TestBackoffJitterStaysInRange(t *testing.T) {
	b := Backoff{Base: 10 * time.Millisecond, Max: time.Second}
	for i := range 200 {
		d := b.Next()
		if d < 0 || d > time.Second {
			t.Fatalf("attempt %d: %v out of [0, 1s]", i, d)
		}
	}
	// Huge attempt counts must not overflow into negative waits.
	var z Backoff
	for range 100 {
		if d := z.Next(); d < 0 || d > 5*time.Minute {
			t.Fatalf("zero Backoff gave %v", d)
		}
	}
}
