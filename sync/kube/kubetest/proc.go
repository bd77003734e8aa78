package kubetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// process is a child process this package started (kwok, kube-scheduler),
// with its output in a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // why it ended (never nil), set before done closes
}

// startProcess starts path with args, its stdout and stderr appended to
// logPath, in its own process group, killed if this process dies.
func startProcess(name, path string, args, env []string, logPath string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = childSysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		if p.err == nil {
			p.err = errors.New("exit status 0")
		}
		_ = logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended, and how (a non-nil error).
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// stop sends SIGTERM, waits up to timeout, then SIGKILL. Only this process's
// own PID is signalled.
func (p *process) stop(timeout time.Duration) error {
	if p == nil {
		return nil
	}
	if done, _ := p.exited(); done {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s (pid %d): %w", p.name, p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s (pid %d): %w", p.name, p.cmd.Process.Pid, err)
	}
	<-p.done
	return fmt.Errorf("%s (pid %d) did not stop within %s and was killed", p.name, p.cmd.Process.Pid, timeout)
}

// tail returns the last n lines of a log file, for error messages.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	data = bytes.TrimRight(data, "\n")
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// writeWrapper writes an executable shell script that runs target with its
// arguments, first dropping every environment variable whose name starts
// with one of scrubPrefixes, and asking the kernel to kill it when its
// parent (this test process) dies, where setpriv(1) is available. envtest
// starts etcd and kube-apiserver through such wrappers: etcd reads every
// ETCD_* variable as a flag, and neither should outlive a test binary that
// was killed on a timeout.
func writeWrapper(path, target string, scrubPrefixes []string) error {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Written by gitlaunch's kubetest package.\n")
	for _, prefix := range scrubPrefixes {
		fmt.Fprintf(&b, "for v in $(env | sed -n 's/^\\(%s[A-Za-z0-9_]*\\)=.*/\\1/p'); do unset \"$v\"; done\n", prefix)
	}
	if setpriv, err := exec.LookPath("setpriv"); err == nil {
		fmt.Fprintf(&b, "exec %s --pdeathsig KILL -- %s \"$@\"\n", shellQuote(setpriv), shellQuote(target))
	} else {
		fmt.Fprintf(&b, "exec %s \"$@\"\n", shellQuote(target))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create wrapper dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o700); err != nil {
		return fmt.Errorf("write wrapper %s: %w", path, err)
	}
	return nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// scrubEnv returns the environment without variables starting with any of
// the prefixes.
func scrubEnv(env []string, prefixes ...string) []string {
	out := make([]string, 0, len(env))
next:
	for _, kv := range env {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// logWriter opens a log file for a component envtest runs.
func logWriter(path string) (io.WriteCloser, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	return f, nil
}
