package local

import (
	"bytes"
	"context"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gitCheckout is a Checkouter on the real git CLI, as the init container
// would fetch: clone, then check out exactly the commit.
type gitCheckout struct{}

func (gitCheckout) Checkout(ctx context.Context, repoURL, sha, dest string) error {
	for _, args := range [][]string{
		{"clone", "--quiet", "--no-checkout", repoURL, dest},
		{"-C", dest, "checkout", "--quiet", "--detach", sha},
	} {
		if out, err := exec.CommandContext(ctx, "git", args...).CombinedOutput(); err != nil {
			return &gitError{args, err, out}
		}
	}
	return nil
}

type gitError struct {
	args []string
	err  error
	out  []byte
}

func (e *gitError) Error() string {
	return "git " + strings.Join(e.args, " ") + ": " + e.err.Error() + ": " + string(bytes.TrimSpace(e.out))
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestRealGitCheckout(t *testing.T) {
	repo := t.TempDir()
	git(t, repo, "init", "--quiet", "-b", "main")
	commit := func(version string) string {
		if err := os.MkdirAll(filepath.Join(repo, "mnist"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, "mnist", "version.txt"), []byte(version+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, repo, "add", "-A")
		git(t, repo, "commit", "--quiet", "-m", version)
		return git(t, repo, "rev-parse", "HEAD")
	}
	first := commit("v1")
	commit("v2") // the branch moved on; the run wants the first commit

	e := newTestExecutor(t, IsolationAuto, t.TempDir(), func(o *Options) { o.Checkout = gitCheckout{} })
	l := testLaunch(t, `echo "version $(cat version.txt)"; echo "head $(git -C .. rev-parse HEAD)"`)
	l.Run.RepoURL, l.Run.SHA = repo, first
	l.Pod = testPod(l.Run, l.Job)
	sink := newRecSink()
	if err := e.Start(context.Background(), l, sink); err != nil {
		t.Fatal(err)
	}
	if u := sink.wait(t); u.State != engine.StateSucceeded {
		t.Fatalf("terminal update %+v; log:\n%s", u, sink.text())
	}
	for _, want := range []string{"version v1\n", "head " + first + "\n"} {
		if !strings.Contains(sink.text(), want) {
			t.Errorf("log lacks %q:\n%s", want, sink.text())
		}
	}

	// A commit that does not exist fails as an infrastructure error.
	l2 := testLaunch(t, "echo never")
	l2.Run.RepoURL, l2.Run.SHA = repo, strings.Repeat("0", 40)
	sink2 := newRecSink()
	if err := e.Start(context.Background(), l2, sink2); err == nil {
		t.Fatal("Start of a missing commit succeeded")
	}
	if u := sink2.wait(t); u.State != engine.StateError || !u.Retryable || !strings.Contains(u.Reason, "clone") {
		t.Fatalf("terminal update %+v", u)
	}
}

// blockingCheckout waits until its context ends.
type blockingCheckout struct{ entered chan struct{} }

func (b blockingCheckout) Checkout(ctx context.Context, _, _, _ string) error {
	close(b.entered)
	<-ctx.Done()
	return context.Cause(ctx)
}

func TestCancelWhileCloning(t *testing.T) {
	bc := blockingCheckout{entered: make(chan struct{})}
	data := t.TempDir()
	e := newTestExecutor(t, IsolationAuto, data, func(o *Options) { o.Checkout = bc })
	l := testLaunch(t, "echo never")
	sink := newRecSink()
	errc := make(chan error, 1)
	go func() { errc <- e.Start(context.Background(), l, sink) }()
	<-bc.entered
	if err := e.Cancel(context.Background(), l.Run.ID); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if u := sink.wait(t); u.State != engine.StateCancelled {
		t.Fatalf("terminal update %+v", u)
	}
	if exists(filepath.Join(data, "runs", l.Run.ID, "output.log")) {
		t.Fatal("a cancelled clone was launched")
	}
}

func TestLargeOutputIsChunked(t *testing.T) {
	e := newTestExecutor(t, IsolationAuto, t.TempDir())
	// 300 KiB of numbered lines.
	l := testLaunch(t, `i=0; while [ $i -lt 30000 ]; do printf 'line %05d xxxxxxxx\n' $i; i=$((i+1)); done`)
	sink := newRecSink()
	if err := e.Start(context.Background(), l, sink); err != nil {
		t.Fatal(err)
	}
	if u := sink.wait(t); u.State != engine.StateSucceeded {
		t.Fatalf("terminal update %+v", u)
	}
	if sink.maxLen > maxChunk {
		t.Errorf("a chunk of %d bytes, over %d", sink.maxLen, maxChunk)
	}
	lines := strings.Split(strings.TrimSpace(sink.text()), "\n")
	var n int
	for _, line := range lines {
		if strings.HasPrefix(line, "gitlaunch: ") {
			continue
		}
		if want := fmt.Sprintf("line %05d xxxxxxxx", n); line != want {
			t.Fatalf("line %d is %q, want %q", n, line, want)
		}
		n++
	}
	if n != 30000 {
		t.Fatalf("%d lines, want 30000", n)
	}
}

func TestCancelAfterRestartAndClose(t *testing.T) {
	data := t.TempDir()
	e1 := newTestExecutor(t, IsolationAuto, data)
	l := testLaunch(t, "sleep 300")
	if err := e1.Start(context.Background(), l, newRecSink()); err != nil {
		t.Fatal(err)
	}
	e1.Close()
	if err := e1.Start(context.Background(), testLaunch(t, "true"), newRecSink()); err == nil {
		t.Fatal("a closed executor started a run")
	}

	// A new executor that has not adopted the run can still stop it; the
	// adoption then reports it cancelled.
	e2 := newTestExecutor(t, IsolationAuto, data)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e2.Cancel(ctx, l.Run.ID); err != nil {
		t.Fatal(err)
	}
	dir := runDir(filepath.Join(data, "runs", l.Run.ID))
	info, err := dir.readProcessInfo()
	if err != nil {
		t.Fatal(err)
	}
	// It was the test's child: reap it as the syncer's parent would.
	waitFor(t, func() bool { return !alive(info.PID, info.ProcStart) })
	sink := newRecSink()
	if err := e2.Adopt(context.Background(), l, sink); err != nil {
		t.Fatal(err)
	}
	if u := sink.wait(t); u.State != engine.StateCancelled {
		t.Fatalf("terminal update %+v", u)
	}
}
