package giteatest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// gitCmd is the real git CLI in dir with a private, empty configuration.
func gitCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", append([]string{
		"-c", "user.name=giteatest", "-c", "user.email=giteatest@example.com",
		"-c", "init.defaultBranch=main", "-c", "credential.helper=",
	}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	return cmd
}

// gitErr runs git and returns its error, for commands expected to fail.
func gitErr(t *testing.T, dir string, args ...string) error {
	t.Helper()
	out, err := gitCmd(dir, args...).CombinedOutput()
	t.Logf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	return err
}

// git runs git in dir and returns its trimmed standard output.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitCmd(dir, args...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("git %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return strings.TrimSpace(string(out))
}

// lsRemote maps ref names to SHAs as `git ls-remote` reports them.
func lsRemote(t *testing.T, remote string) map[string]string {
	t.Helper()
	refs := map[string]string{}
	for line := range strings.Lines(git(t, t.TempDir(), "ls-remote", remote)) {
		sha, ref, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if ok {
			refs[ref] = sha
		}
	}
	return refs
}
