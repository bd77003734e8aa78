package giteatest

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestBinaryPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "gitea")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cacheBin := filepath.Join(dir, "cache", "gitea", Version, "gitea")
	if err := os.MkdirAll(filepath.Dir(cacheBin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cacheBin, nil, 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, binary, cache  string
		want                 string
		wantMissing, wantErr bool
	}{
		{name: "explicit binary", binary: exe, want: exe},
		{name: "explicit binary wins over cache", binary: exe, cache: filepath.Join(dir, "cache"), want: exe},
		{name: "cache path keyed by version", cache: filepath.Join(dir, "cache"), want: cacheBin},
		{name: "missing binary", binary: filepath.Join(dir, "nope"), wantMissing: true, wantErr: true},
		{name: "empty cache", cache: filepath.Join(dir, "empty"), wantMissing: true, wantErr: true},
		{name: "not executable", binary: plain, wantErr: true},
		{name: "directory", binary: dir, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvBinary, tc.binary)
			t.Setenv(EnvCache, tc.cache)
			got, err := BinaryPath()
			if (err != nil) != tc.wantErr {
				t.Fatalf("BinaryPath() = %q, %v; want error %v", got, err, tc.wantErr)
			}
			if err != nil {
				if missing := errors.Is(err, errNoBinary); missing != tc.wantMissing {
					t.Fatalf("error %v: missing = %v, want %v", err, missing, tc.wantMissing)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("BinaryPath() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestGitOverHTTP pushes with the real git CLI over HTTP basic auth
// (user:token), opens a pull request, and finds refs/pull/N/head.
func TestGitOverHTTP(t *testing.T) {
	s := Start(t)
	cloneURL := s.CreateRepo(t, "push")
	if cloneURL != s.CloneURL("push") {
		t.Fatalf("clone URL %q, want %q", cloneURL, s.CloneURL("push"))
	}

	work := t.TempDir()
	git(t, work, "clone", "--quiet", s.AuthURL("push", s.Admin, s.Token), ".")
	if got := git(t, work, "rev-parse", "--abbrev-ref", "HEAD"); got != "main" {
		t.Fatalf("default branch %q, want main", got)
	}
	git(t, work, "switch", "--quiet", "-c", "feature")
	if err := os.WriteFile(filepath.Join(work, "job.yaml"), []byte("name: demo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, work, "add", "job.yaml")
	git(t, work, "commit", "--quiet", "-m", "add job")
	head := git(t, work, "rev-parse", "HEAD")
	git(t, work, "push", "--quiet", "origin", "feature")

	// Anonymous reads work on a public repository; pushes need credentials.
	refs := lsRemote(t, s.CloneURL("push"))
	if refs["refs/heads/feature"] != head {
		t.Fatalf("refs/heads/feature = %q, want %s (refs %v)", refs["refs/heads/feature"], head, refs)
	}

	n := s.CreatePullRequest(t, "push", "feature", "main", "Add job")
	ref := "refs/pull/" + strconv.Itoa(n) + "/head"
	if got := lsRemote(t, s.CloneURL("push"))[ref]; got != head {
		t.Fatalf("%s = %q, want %s", ref, got, head)
	}
	// A fetch of the PR ref, as a poller that only knows the number would do.
	git(t, work, "fetch", "--quiet", "origin", ref)
	if got := git(t, work, "rev-parse", "FETCH_HEAD"); got != head {
		t.Fatalf("fetched %s = %s, want %s", ref, got, head)
	}

	// Without credentials a push is refused.
	anon := t.TempDir()
	git(t, anon, "clone", "--quiet", s.CloneURL("push"), ".")
	cmdErr := gitErr(t, anon, "push", "origin", "HEAD:refs/heads/anon")
	if cmdErr == nil {
		t.Fatal("anonymous push succeeded")
	}
}

func TestStopEndsProcess(t *testing.T) {
	s := Start(t)
	s.Stop()
	select {
	case <-s.done:
	case <-time.After(time.Second):
		t.Fatal("process still running after Stop")
	}
	c := &http.Client{Timeout: 2 * time.Second}
	if resp, err := c.Get(s.URL + "api/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("server still answers after Stop: %s", resp.Status)
	}
	s.Stop() // idempotent
}

// fakeTB records how StartWith ends a test that has no usable binary.
type fakeTB struct {
	testing.TB // nil: calling anything not overridden panics
	failed     bool
	skipped    bool
	msg        string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartWithoutBinary(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, binary, skip string
		wantSkip           bool
		wantMsg            string
	}{
		{name: "missing fails with the build command", binary: filepath.Join(dir, "none"), wantMsg: "bash hack/gitea.sh"},
		{name: "missing is skipped on request", binary: filepath.Join(dir, "none"), skip: "1", wantSkip: true, wantMsg: EnvSkip},
		{name: "broken binary fails even with skip", binary: plain, skip: "1", wantMsg: "not an executable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvBinary, tc.binary)
			t.Setenv(EnvSkip, tc.skip)
			f := &fakeTB{}
			done := make(chan struct{})
			go func() {
				defer close(done)
				Start(f)
			}()
			<-done
			if f.skipped != tc.wantSkip || f.failed == tc.wantSkip {
				t.Fatalf("skipped=%v failed=%v, want skipped=%v (%s)", f.skipped, f.failed, tc.wantSkip, f.msg)
			}
			if !strings.Contains(f.msg, tc.wantMsg) {
				t.Fatalf("message %q does not mention %q", f.msg, tc.wantMsg)
			}
		})
	}
}
