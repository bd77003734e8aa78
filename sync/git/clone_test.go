package git_test

import (
	"errors"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/git"
	"github.com/gitlaunch/gitlaunch/sync/git/gittest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitIn runs the git CLI in dir.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gittest.Env(t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func cloneRemote(t *testing.T) (*gittest.Remote, []string) {
	rem := gittest.NewRemote(t)
	var shas []string
	for i := range 3 {
		shas = append(shas, rem.CommitFiles(t, "main", []gittest.File{
			{Path: "mnist/job.yaml", Data: []byte("name: mnist\n")},
			{Path: "mnist/train.py", Data: []byte(strings.Repeat("x", i+1))},
			{Path: "run.sh", Data: []byte("#!/bin/sh\n"), Mode: gittest.Executable},
			{Path: "link", Data: []byte("mnist"), Mode: gittest.Symlink},
		}, "c"))
	}
	return rem, shas
}

func TestCloneBySHA(t *testing.T) {
	rem, c := cloneRemote(t)
	rem.Git(t, "config", "uploadpack.allowReachableSHA1InWant", "true")
	dest := filepath.Join(t.TempDir(), "ws")
	rem.Server.ResetCounts()
	if err := git.Clone(ctx(t), rem.URL, c[1], "refs/heads/main", dest, git.Auth{}); err != nil {
		t.Fatal(err)
	}
	if got := gitIn(t, dest, "rev-parse", "HEAD"); got != c[1] {
		t.Fatalf("HEAD = %s, want %s", got, c[1])
	}
	if got := gitIn(t, dest, "rev-list", "--count", "HEAD"); got != "1" {
		t.Fatalf("cloned %s commits, want depth 1", got)
	}
	if st := gitIn(t, dest, "status", "--porcelain"); st != "" {
		t.Fatalf("worktree differs from the commit:\n%s", st)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "mnist/train.py")); string(b) != "xx" {
		t.Fatalf("train.py = %q", b)
	}
	if n := rem.Requests(); n.UploadPack != 1 || len(n.Wants) != 1 || n.Wants[0] != c[1] {
		t.Fatalf("requests = %+v, want one fetch of %s", n, c[1])
	}
}

func TestCloneTipWithoutSHAWants(t *testing.T) {
	rem, c := cloneRemote(t)
	dest := t.TempDir()
	if err := git.Clone(ctx(t), rem.URL, c[2], "", dest, git.Auth{}); err != nil {
		t.Fatal(err)
	}
	if got := gitIn(t, dest, "rev-list", "--count", "HEAD"); got != "1" {
		t.Fatalf("cloned %s commits, want depth 1", got)
	}
}

func TestCloneOlderCommitThroughRef(t *testing.T) {
	rem, c := cloneRemote(t)
	dest := t.TempDir()
	// Not a tip, and the server refuses ids: the ref's history is fetched.
	if err := git.Clone(ctx(t), rem.URL, c[0], "main", dest, git.Auth{}); err != nil {
		t.Fatal(err)
	}
	if got := gitIn(t, dest, "rev-parse", "HEAD"); got != c[0] {
		t.Fatalf("HEAD = %s, want %s", got, c[0])
	}
}

func TestCloneErrors(t *testing.T) {
	rem, c := cloneRemote(t)
	missing := strings.Repeat("ab", 20)

	t.Run("not a tip, no ref", func(t *testing.T) {
		err := git.Clone(ctx(t), rem.URL, c[0], "", t.TempDir(), git.Auth{})
		if !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
	t.Run("commit not in ref", func(t *testing.T) {
		err := git.Clone(ctx(t), rem.URL, missing, "main", t.TempDir(), git.Auth{})
		if !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
	t.Run("server refuses unknown id", func(t *testing.T) {
		rem.Git(t, "config", "uploadpack.allowReachableSHA1InWant", "true")
		defer rem.Git(t, "config", "--unset", "uploadpack.allowReachableSHA1InWant")
		err := git.Clone(ctx(t), rem.URL, missing, "main", t.TempDir(), git.Auth{})
		if !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
	t.Run("bad token", func(t *testing.T) {
		rem.Server.RequireToken("good-token-xyz")
		defer rem.Server.RequireToken("")
		err := git.Clone(ctx(t), rem.URL, c[2], "main", t.TempDir(), git.Auth{Token: "bad-token-4321"})
		var re *git.RemoteError
		if !errors.As(err, &re) || re.Kind != git.KindAuth || strings.Contains(err.Error(), "bad-token-4321") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("used dest", func(t *testing.T) {
		dest := t.TempDir()
		os.WriteFile(filepath.Join(dest, "x"), nil, 0o644)
		if err := git.Clone(ctx(t), rem.URL, c[2], "main", dest, git.Auth{}); err == nil {
			t.Fatal("cloned into a used directory")
		}
	})
	t.Run("bad sha", func(t *testing.T) {
		if err := git.Clone(ctx(t), rem.URL, "main", "main", t.TempDir(), git.Auth{}); err == nil {
			t.Fatal("accepted a ref name as sha")
		}
	})
}

// TestCloneDiskFull clones into a 256 KiB tmpfs in a private mount
// namespace (a child process started through unshare) and expects
// ErrDiskFull.
func TestCloneDiskFull(t *testing.T) {
	if dir := os.Getenv("GITLAUNCH_ENOSPC_DIR"); dir != "" {
		err := git.Clone(ctx(t), os.Getenv("GITLAUNCH_ENOSPC_URL"), os.Getenv("GITLAUNCH_ENOSPC_SHA"), "main",
			filepath.Join(dir, "ws"), git.Auth{})
		t.Log(err)
		if !errors.Is(err, git.ErrDiskFull) {
			t.Fatalf("err = %v, want ErrDiskFull", err)
		}
		return
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare not available")
	}
	if out, err := exec.Command("unshare", "-rm", "true").CombinedOutput(); err != nil {
		t.Skipf("no private mount namespaces here: %v %s", err, out)
	}
	rem := gittest.NewRemote(t)
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i*7919 + i/251)
	}
	sha := rem.CommitFiles(t, "main", []gittest.File{{Path: "weights.bin", Data: big}}, "big")
	dir := t.TempDir()
	cmd := exec.Command("unshare", "-rm", "sh", "-c",
		`mount -t tmpfs -o size=256k tmpfs "$GITLAUNCH_ENOSPC_DIR" && exec "$0" -test.run='^TestCloneDiskFull$' -test.v`, os.Args[0])
	cmd.Env = append(os.Environ(), "GITLAUNCH_ENOSPC_DIR="+dir, "GITLAUNCH_ENOSPC_URL="+rem.URL, "GITLAUNCH_ENOSPC_SHA="+sha)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestCloneDiskFull") {
		t.Fatalf("child did not run the check:\n%s", out)
	}
}
