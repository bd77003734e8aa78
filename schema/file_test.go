package schema

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestLoadFile(t *testing.T) {
	root := t.TempDir()
	write := func(rel, body string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("mnist/job.yaml", header)
	write("big/job.yaml", header+"# "+strings.Repeat("x", MaxManifestSize)+"\n")
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "job.yaml"), []byte(header), 0o644); err != nil {
		t.Fatal(err)
	}
	symlink := func(target, rel string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	symlink("../mnist/job.yaml", "link/job.yaml")
	symlink(filepath.Join(outside, "job.yaml"), "abs/job.yaml")
	symlink(outside, "dirlink")
	symlink("/dev/zero", "zero/job.yaml")
	if err := os.MkdirAll(filepath.Join(root, "dir", "job.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "fifo"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo", "job.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}

	j, err := LoadFile(root, "mnist/job.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if j.Name != "mnist" || j.Path != "mnist/job.yaml" || j.Dir != "mnist" {
		t.Errorf("job %+v", j)
	}

	refused := []struct{ rel, want string }{
		{"link/job.yaml", "symlink"},
		{"abs/job.yaml", "symlink"},
		{"zero/job.yaml", "symlink"},
		{"dirlink/job.yaml", "through the symlink dirlink"},
		{"dir/job.yaml", "directory"},
		{"fifo/job.yaml", "not a regular file"},
		{"big/job.yaml", "too large"},
		{"../job.yaml", "leaves the repository"},
		{"a/../../job.yaml", "leaves the repository"},
		{"/etc/passwd", "leaves the repository"},
		{"", "leaves the repository"},
	}
	for _, tt := range refused {
		t.Run(tt.rel, func(t *testing.T) {
			_, err := LoadFile(root, tt.rel, nil)
			var ps Problems
			if !errors.As(err, &ps) || len(ps) != 1 {
				t.Fatalf("got %T %v, want one problem", err, err)
			}
			if !strings.Contains(ps[0].Message, tt.want) || ps[0].File != tt.rel {
				t.Errorf("problem %q, want %q", ps[0], tt.want)
			}
		})
	}

	if _, err := LoadFile(root, "missing/job.yaml", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadFile(filepath.Join(root, "nope"), "job.yaml", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing root: %v", err)
	}
}
