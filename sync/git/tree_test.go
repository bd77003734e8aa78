package git_test

import (
	"errors"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// polled returns a Repo that has polled rem once.
func polled(t *testing.T, rem *gittest.Remote) *git.Repo {
	t.Helper()
	r := open(t, rem.URL)
	if _, err := r.Poll(ctx(t)); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestManifests(t *testing.T) {
	rem := gittest.NewRemote(t)
	big := strings.Repeat("#", git.MaxManifestSize+1)
	sha := rem.CommitFiles(t, "main", []gittest.File{
		{Path: "job.yaml", Data: []byte("name: root\n")},
		{Path: "mnist/job.yaml", Data: []byte("name: mnist\n")},
		{Path: "mnist/train.py", Data: []byte("print(1)\n")},
		{Path: "deep/a/b/c/job.yaml", Data: []byte("name: deep\n")},
		{Path: "exec/job.yaml", Data: []byte("name: exec\n"), Mode: gittest.Executable},
		{Path: "link/job.yaml", Data: []byte("../mnist/job.yaml"), Mode: gittest.Symlink},
		{Path: "big/job.yaml", Data: []byte(big)},
		{Path: "limit/job.yaml", Data: []byte(strings.Repeat("#", git.MaxManifestSize))},
		{Path: "dir/job.yaml/job.yaml", Data: []byte("name: inner\n")}, // a folder named job.yaml
		{Path: "other/job.yml", Data: []byte("not a manifest")},
		{Path: "other/xjob.yaml", Data: []byte("not a manifest")},
	}, "manifests")
	r := polled(t, rem)
	got, err := r.Manifests(ctx(t), sha)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		path string
		data string
		err  error
	}
	wants := []want{
		{"big/job.yaml", "", git.ErrTooLarge},
		{"deep/a/b/c/job.yaml", "name: deep\n", nil},
		{"dir/job.yaml/job.yaml", "name: inner\n", nil},
		{"exec/job.yaml", "name: exec\n", nil},
		{"job.yaml", "name: root\n", nil},
		{"limit/job.yaml", strings.Repeat("#", git.MaxManifestSize), nil},
		{"link/job.yaml", "", git.ErrNotRegular},
		{"mnist/job.yaml", "name: mnist\n", nil},
	}
	if len(got) != len(wants) {
		var paths []string
		for _, m := range got {
			paths = append(paths, m.Path)
		}
		t.Fatalf("got %d manifests %v, want %d", len(got), paths, len(wants))
	}
	for i, w := range wants {
		m := got[i]
		if m.Path != w.path || string(m.Data) != w.data || !errors.Is(m.Err, w.err) || (w.err == nil) != (m.Err == nil) {
			t.Errorf("manifest %d = {%s, %d bytes, %v}, want {%s, %d bytes, %v}", i, m.Path, len(m.Data), m.Err, w.path, len(w.data), w.err)
		}
	}
}

func TestManifestsMissingCommit(t *testing.T) {
	rem := gittest.NewRemote(t)
	rem.Commit(t, "main", map[string]string{"f": "1"}, "one")
	r := polled(t, rem)
	_, err := r.Manifests(ctx(t), strings.Repeat("ab", 20))
	if !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("missing commit: %v", err)
	}
	for _, bad := range []string{"", "abc", strings.Repeat("z", 40), "HEAD"} {
		if _, err := r.Manifests(ctx(t), bad); err == nil {
			t.Errorf("Manifests(%q) accepted", bad)
		}
	}
}

func TestChangedPaths(t *testing.T) {
	rem := gittest.NewRemote(t)
	c1 := rem.Commit(t, "main", map[string]string{
		"a/job.yaml": "a", "a/train.py": "1", "b/job.yaml": "b", "old/name.txt": "same content", "z": "z",
	}, "one")
	c2 := rem.CommitFiles(t, "main", []gittest.File{
		{Path: "a/train.py", Data: []byte("2")},                  // modified
		{Path: "b/job.yaml", Delete: true},                       // deleted
		{Path: "c/job.yaml", Data: []byte("c")},                  // added
		{Path: "old/name.txt", Delete: true},                     // renamed …
		{Path: "new/name.txt", Data: []byte("same content")},     // … here
		{Path: "z", Data: []byte("z"), Mode: gittest.Executable}, // mode change
	}, "two")
	r := polled(t, rem)
	tests := []struct {
		name     string
		from, to string
		want     []string
	}{
		{"forward", c1, c2, []string{"a/train.py", "b/job.yaml", "c/job.yaml", "new/name.txt", "old/name.txt", "z"}},
		{"backward", c2, c1, []string{"a/train.py", "b/job.yaml", "c/job.yaml", "new/name.txt", "old/name.txt", "z"}},
		{"same", c1, c1, []string{}},
		{"no base", "", c2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.ChangedPaths(ctx(t), tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Fatalf("ChangedPaths = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	rem := gittest.NewRemote(t)
	sha := rem.CommitFiles(t, "main", []gittest.File{
		{Path: "a/b.txt", Data: []byte("hello")},
		{Path: "link", Data: []byte("a/b.txt"), Mode: gittest.Symlink},
	}, "one")
	r := polled(t, rem)
	if got, err := r.ReadFile(ctx(t), sha, "a/b.txt"); err != nil || string(got) != "hello" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
	if got, err := r.ReadFile(ctx(t), sha, "./a/b.txt"); err != nil || string(got) != "hello" {
		t.Fatalf("ReadFile ./ = %q, %v", got, err)
	}
	tests := []struct {
		path string
		want error
	}{
		{"missing.txt", engine.ErrNotFound},
		{"a/missing.txt", engine.ErrNotFound},
		{"a", git.ErrNotRegular},
		{"link", git.ErrNotRegular},
	}
	for _, tt := range tests {
		if _, err := r.ReadFile(ctx(t), sha, tt.path); !errors.Is(err, tt.want) {
			t.Errorf("ReadFile(%q) = %v, want %v", tt.path, err, tt.want)
		}
	}
	for _, bad := range []string{"", "/a/b.txt", "../x", "a/../../x", "."} {
		if _, err := r.ReadFile(ctx(t), sha, bad); err == nil {
			t.Errorf("ReadFile(%q) accepted", bad)
		}
	}
}

func TestCheckout(t *testing.T) {
	rem := gittest.NewRemote(t)
	sha := rem.CommitFiles(t, "main", []gittest.File{
		{Path: "mnist/job.yaml", Data: []byte("name: mnist\n")},
		{Path: "mnist/run.sh", Data: []byte("#!/bin/sh\necho hi\n"), Mode: gittest.Executable},
		{Path: "deep/x/y/z.txt", Data: []byte("z")},
		{Path: "rel", Data: []byte("mnist/job.yaml"), Mode: gittest.Symlink},
		{Path: "escape", Data: []byte("../../../../etc/passwd"), Mode: gittest.Symlink},
	}, "tree")
	r := polled(t, rem)
	dest := filepath.Join(t.TempDir(), "ws")
	if err := r.Checkout(ctx(t), sha, dest); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(dest, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if read("mnist/job.yaml") != "name: mnist\n" || read("deep/x/y/z.txt") != "z" || read("rel") != "name: mnist\n" {
		t.Fatal("checked out content differs")
	}
	if fi, err := os.Stat(filepath.Join(dest, "mnist/run.sh")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Fatalf("run.sh not executable: %v %v", fi.Mode(), err)
	}
	if target, err := os.Readlink(filepath.Join(dest, "escape")); err != nil || target != "../../../../etc/passwd" {
		t.Fatalf("symlink = %q, %v", target, err)
	}
	entries, _ := os.ReadDir(dest)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"deep", "escape", "mnist", "rel"}; !slices.Equal(names, want) {
		t.Fatalf("top level = %v, want %v (no .git, nothing else)", names, want)
	}

	// dest must be fresh.
	if err := r.Checkout(ctx(t), sha, dest); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("checkout into a used directory: %v", err)
	}
}

// TestCheckoutRefusesCraftedNames writes trees that git itself would never
// make (but a hostile remote can serve) and checks nothing escapes.
func TestCheckoutRefusesCraftedNames(t *testing.T) {
	for _, name := range []string{"..", ".git", "a/.git"} {
		t.Run(name, func(t *testing.T) {
			rem := gittest.NewRemote(t)
			blob := rem.GitInput(t, "evil", "hash-object", "-w", "--stdin")
			entry := "100644 blob " + blob + "\t" + filepath.Base(name) + "\n"
			tree := rem.GitInput(t, entry, "mktree")
			if dir := filepath.Dir(name); dir != "." {
				tree = rem.GitInput(t, "040000 tree "+tree+"\t"+dir+"\n", "mktree")
			}
			sha := rem.Git(t, "commit-tree", tree, "-m", "crafted")
			rem.SetRef(t, "refs/heads/main", sha)
			r := polled(t, rem)
			parent := t.TempDir()
			dest := filepath.Join(parent, "ws")
			if err := r.Checkout(ctx(t), sha, dest); err == nil {
				t.Fatalf("crafted entry %q checked out", name)
			} else if !strings.Contains(err.Error(), "invalid entry name") && !strings.Contains(err.Error(), "refusing") {
				t.Fatalf("unexpected error: %v", err)
			}
			if _, err := os.Stat(filepath.Join(parent, "evil")); err == nil {
				t.Fatal("wrote outside dest")
			}
		})
	}
}
