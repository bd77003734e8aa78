package store

import (
	"context"
	"maps"
	"testing"
)

func TestStatePrefix(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	for k, v := range map[string]string{
		"cancel/a": "why", "cancel/b": "", "cancel/ü": "unicode", "cancel": "no slash", "cancel0": "after", "other/a": "x",
	} {
		if err := s.PutState(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.StatePrefix(ctx, "cancel/")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"cancel/a": "why", "cancel/ü": "unicode"}
	if !maps.Equal(got, want) {
		t.Errorf("StatePrefix = %v, want %v", got, want)
	}
	if _, err := s.StatePrefix(ctx, ""); err == nil {
		t.Error("an empty prefix was accepted")
	}
}
