package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadersCreateNothing: `runs` and `logs` where no syncer ever ran say
// so and exit non-zero, and leave the folder as it was: no store, no data
// directory.
func TestReadersCreateNothing(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"runs"},
		{"runs", "-o", "json"},
		{"logs", "3kq7"},
		{"runs", "--data-dir", filepath.Join(dir, "elsewhere")},
	} {
		out, errOut, code := gitlaunch(t, dir, args...)
		data := filepath.Join(dir, ".gitlaunch")
		if len(args) > 2 && args[1] == "--data-dir" {
			data = args[2]
		}
		want := "gitlaunch: no runs yet: no store at " + filepath.Join(data, "gitlaunch.db") + " (start `gitlaunch sync` or pass --data-dir)\n"
		if code == 0 || out != "" || errOut != want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", args, code, out, errOut, want)
		}
		if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
			t.Errorf("%v created %v (%v)", args, entries, err)
		}
	}
	if _, errOut, _ := gitlaunch(t, dir, "runs"); strings.Contains(errOut, "Usage") {
		t.Errorf("usage printed for a missing store:\n%s", errOut)
	}
}
