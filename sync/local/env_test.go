package local

import "testing"

func TestExpandRefs(t *testing.T) {
	env := map[string]string{"A": "x", "EMPTY": ""}
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"$(A)/b", "x/b"},
		{"$(EMPTY)|", "|"},
		{"$(UNDEFINED)", "$(UNDEFINED)"},
		{"$$(A)", "$(A)"},
		{"echo $$", "echo $"},
		{"echo $HOME", "echo $HOME"},
		{"$(A", "$(A"},
		{"end$", "end$"},
	} {
		if got := expandRefs(tc.in, env); got != tc.want {
			t.Errorf("expandRefs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEnvKey(t *testing.T) {
	if got := envKey("/mnt/datasets/mnist-v2"); got != "MNT_DATASETS_MNIST_V2" {
		t.Fatal(got)
	}
}
