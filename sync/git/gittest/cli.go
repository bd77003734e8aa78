package gittest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Identity used for every commit the helpers make.
const (
	AuthorName  = "Gitlaunch Test"
	AuthorEmail = "test@gitlaunch.invalid"
)

// Env returns a hermetic environment for the git CLI with HOME set to home:
// the caller's GIT_* variables are dropped so that nothing from the machine
// running the tests leaks in.
func Env(home string) []string {
	env := make([]string, 0, len(os.Environ())+8)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GIT_") || k == "HOME" || k == "XDG_CONFIG_HOME" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME="+AuthorName,
		"GIT_AUTHOR_EMAIL="+AuthorEmail,
		"GIT_COMMITTER_NAME="+AuthorName,
		"GIT_COMMITTER_EMAIL="+AuthorEmail,
	)
}

// runGit runs git with args in dir and fails the test on error. stdin may
// be nil.
func runGit(t testing.TB, env []string, dir string, stdin []byte, args ...string) string {
	t.Helper()
	out, err := tryGit(env, dir, stdin, args...)
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

type gitError struct {
	err    error
	stderr string
}

func (e *gitError) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.stderr) }

func tryGit(env []string, dir string, stdin []byte, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", &gitError{err: err, stderr: stderr.String()}
	}
	return strings.TrimSpace(stdout.String()), nil
}

var execPath = sync.OnceValues(func() (string, error) {
	return tryGit(os.Environ(), "", nil, "--exec-path")
})

// HTTPBackend returns the path of git-http-backend, skipping the test when
// git or the backend is not installed.
func HTTPBackend(t testing.TB) string {
	t.Helper()
	dir, err := execPath()
	if err != nil {
		t.Skipf("git CLI not available: %v", err)
	}
	p := filepath.Join(dir, "git-http-backend")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("git-http-backend not available: %v", err)
	}
	return p
}
