package local

import (
	"context"
	"errors"
	"fmt"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Start clones the commit into the run's workspace and starts the job's
// process; it returns once the process runs (after Pending "cloning" and
// Running were sent to the sink). A run whose folder shows it was already
// launched for this attempt is adopted instead: never launched twice (and
// Start then returns Adopt's error, engine.ErrNotFound for a lost run). A
// Start for a higher Run.Attempt moves the old attempt's folder aside and
// launches anew.
//
// When Start fails after it accepted the launch it has already sent the
// terminal StateError update; the error it returns is for logs.
func (e *Executor) Start(ctx context.Context, l engine.Launch, sink engine.Sink) error {
	if l.Run == nil || !runIDPattern.MatchString(l.Run.ID) {
		return errors.New("local start: launch without a valid run id")
	}
	id := l.Run.ID
	attempt := max(l.Run.Attempt, 1)

	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return fmt.Errorf("local start %s: executor closed", id)
	}
	if f := e.following[id]; f != nil && f.attempt < attempt {
		e.mu.Unlock()
		return fmt.Errorf("local start %s: attempt %d still runs", id, f.attempt)
	}
	if e.following[id] != nil || e.starting[id] != nil {
		e.mu.Unlock()
		return nil // already launched here: nothing to do twice
	}
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	e.starting[id] = cancel
	e.mu.Unlock()
	registered := false
	defer func() {
		if !registered {
			e.mu.Lock()
			delete(e.starting, id)
			e.mu.Unlock()
		}
	}()

	d := e.dir(id)
	adopt, err := e.prepareDir(d, id, attempt)
	if err != nil {
		return e.fail(ctx, sink, id, err.Error(), false)
	}
	if adopt {
		e.mu.Lock()
		delete(e.starting, id)
		e.mu.Unlock()
		registered = true
		return e.Adopt(ctx, l, sink)
	}

	p, err := planLaunch(l, &e.opts, d, e.iso.name())
	if err != nil {
		return e.fail(ctx, sink, id, "cannot run this Pod locally: "+err.Error(), false)
	}
	if len(l.Secrets) > 0 && !e.iso.sandboxed() && !e.opts.AllowUnsandboxed {
		return e.fail(ctx, sink, id, fmt.Sprintf("this run gets secrets, and the local executor has no sandbox on this machine "+
			"(isolation %s: any job could read them, and gitlaunch's own data): install bubblewrap (bwrap), "+
			"or allow it with local.allowUnsandboxed: true in the config", e.iso.name()), false)
	}
	if why, full := e.full(string(d)); full {
		return e.fail(ctx, sink, id, why+"; the run was not started", false)
	}
	e.update(ctx, sink, id, engine.Update{State: engine.StatePending, Reason: "cloning " + engine.ShortSHA(l.Run.SHA)})
	if err := e.opts.Checkout.Checkout(cctx, l.Run.RepoURL, l.Run.SHA, d.Workspace()); err != nil {
		if errors.Is(context.Cause(cctx), errCancelled) {
			e.update(ctx, sink, id, engine.Update{State: engine.StateCancelled, Reason: "cancelled while cloning"})
			return nil
		}
		return e.fail(ctx, sink, id, fmt.Sprintf("clone %s at %s: %v", l.Run.RepoURL, engine.ShortSHA(l.Run.SHA), err), true)
	}
	if errors.Is(context.Cause(cctx), errCancelled) {
		e.update(ctx, sink, id, engine.Update{State: engine.StateCancelled, Reason: "cancelled before it started"})
		return nil
	}
	if err := checkWorkdir(d.Workspace(), p.HostWorkdir); err != nil {
		return e.fail(ctx, sink, id, err.Error(), false)
	}

	info, err := e.launch(d, p)
	if err != nil {
		return e.fail(ctx, sink, id, err.Error(), true)
	}
	e.log.Info("local run started", "run", id, "pid", info.PID, "isolation", info.Isolation, "workdir", p.HostWorkdir)
	e.update(ctx, sink, id, engine.Update{State: engine.StateRunning, Reason: "running on this machine (isolation: " + info.Isolation + ")"})

	f := e.newFollower(l, sink, d, info)
	e.mu.Lock()
	delete(e.starting, id)
	registered = true
	if e.closed {
		e.mu.Unlock()
		return fmt.Errorf("local start %s: executor closed; the process runs on for a later adoption", id)
	}
	if errors.Is(context.Cause(cctx), errCancelled) {
		f.requestStop(stopCancelled)
	}
	e.follow(f)
	e.mu.Unlock()
	return nil
}

// prepareDir makes the run folder ready for a launch of this attempt, or
// says to adopt when this attempt was launched already.
func (e *Executor) prepareDir(d runDir, id string, attempt int) (adopt bool, err error) {
	reset := func() (bool, error) {
		if err := os.RemoveAll(string(d)); err != nil {
			return false, fmt.Errorf("reset run folder: %w", err)
		}
		return false, e.createDir(d, attempt)
	}
	if !exists(string(d)) {
		return false, e.createDir(d, attempt)
	}
	prev, err := d.readAttempt()
	switch {
	case err != nil || prev == attempt:
		if exists(d.Output()) {
			return true, nil // launched before: follow it, never launch twice
		}
		return reset() // an earlier Start stopped before launching
	case prev < attempt:
		if info, err := d.readProcessInfo(); err == nil && alive(info.PID, info.ProcStart) {
			return false, fmt.Errorf("run %s: attempt %d still runs (pid %d)", id, prev, info.PID)
		}
		old := string(d) + ".attempt-" + strconv.Itoa(prev)
		if err := os.RemoveAll(old); err != nil {
			return false, fmt.Errorf("keep attempt %d: %w", prev, err)
		}
		if err := os.Rename(string(d), old); err != nil {
			return false, fmt.Errorf("keep attempt %d: %w", prev, err)
		}
		return false, e.createDir(d, attempt)
	default:
		return false, fmt.Errorf("run %s is at attempt %d already; refusing attempt %d", id, prev, attempt)
	}
}

func (e *Executor) createDir(d runDir, attempt int) error {
	if err := os.MkdirAll(d.Stage(), 0o755); err != nil {
		return fmt.Errorf("create run folder: %w", err)
	}
	if err := writeFileAtomic(d.Attempt(), strconv.AppendInt(nil, int64(attempt), 10)); err != nil {
		return fmt.Errorf("create run folder: %w", err)
	}
	return nil
}

// checkWorkdir makes sure the job's folder exists at the commit and that no
// symlink leads it out of the workspace.
func checkWorkdir(ws, wd string) error {
	root, err := filepath.EvalSymlinks(ws)
	if err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	real, err := filepath.EvalSymlinks(wd)
	if err != nil {
		return fmt.Errorf("the job's workdir does not exist at this commit: %w", err)
	}
	if rel, err := filepath.Rel(root, real); err != nil || !(rel == "." || filepath.IsLocal(rel)) {
		return fmt.Errorf("the job's workdir %s leads out of the workspace", wd)
	}
	if st, err := os.Stat(real); err != nil || !st.IsDir() {
		return fmt.Errorf("the job's workdir %s is not a folder", wd)
	}
	return nil
}

// launch writes the run log's header and starts the wrapper process in a
// new session (so its process group can be signalled as one, and it does
// not share the syncer's terminal). The wrapper runs with wrapperEnv; the
// job's environment goes through a pipe on fd 3 to the step that starts
// the job (bwrap, or the exec script), never through a wrapper's
// environment or command line.
func (e *Executor) launch(d runDir, p *plan) (processInfo, error) {
	if err := os.MkdirAll(d.Tmp(), 0o755); err != nil {
		return processInfo{}, fmt.Errorf("create the job's /tmp: %w", err)
	}
	argv, env, notes := e.iso.command(p, d, resolveView(e.opts.DataDir, e.opts.Hide))
	envR, err := envPipe(env)
	if err != nil {
		return processInfo{}, err
	}
	defer envR.Close()
	out, err := os.OpenFile(d.Output(), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return processInfo{}, fmt.Errorf("create run log: %w", err)
	}
	defer out.Close()
	for _, line := range append(e.header(p), notes...) {
		if _, err := fmt.Fprintf(out, "gitlaunch: %s\n", line); err != nil {
			return processInfo{}, fmt.Errorf("write run log: %w", err)
		}
	}
	cmd := exec.Command(e.sh, append([]string{"-c", outerScript, "gitlaunch-run", d.Exit()}, argv...)...)
	cmd.Env = wrapperEnv
	cmd.Dir = string(d)
	if e.iso.name() == IsolationNone {
		cmd.Dir = p.HostWorkdir
	}
	cmd.Stdout, cmd.Stderr = out, out // one file description: merged, in order
	cmd.ExtraFiles = []*os.File{envR} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return processInfo{}, fmt.Errorf("start the job's process: %w", err)
	}
	info := processInfo{PID: cmd.Process.Pid, Started: started, Isolation: e.iso.name(),
		Workdir: p.HostWorkdir, Deadline: p.Deadline}
	// The process is ours to reap (followers use wait4 on the PID); the
	// handle is not needed any more.
	defer cmd.Process.Release()
	st, err := readProcStat(info.PID)
	if err == nil {
		info.ProcStart = st.Start
		err = writeFileAtomic(d.PIDFile(), info.encode())
	}
	if err != nil {
		// Without the pid file the run could not be adopted; do not leave
		// an untracked process behind.
		_ = killGroup(info.PID, killSignal)
		return processInfo{}, fmt.Errorf("record the job's process: %w", err)
	}
	return info, nil
}

// Linux fcntl commands that syscall does not name.
const (
	fSetPipeSize = 1031
	fGetPipeSize = 1032
)

// envPipe returns the read end of a pipe holding b, written in full and
// closed. A pipe rather than a file: once the reader took it, nothing of
// the job's environment stays in the processes that keep the descriptor,
// and nothing is written to disk.
func envPipe(b []byte) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pass the job's environment: %w", err)
	}
	defer w.Close()
	size := 0
	cerr := func() error {
		rc, err := w.SyscallConn()
		if err != nil {
			return err
		}
		return rc.Control(func(fd uintptr) {
			if len(b) > 64<<10 {
				syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSize, uintptr(len(b)))
			}
			n, _, _ := syscall.Syscall(syscall.SYS_FCNTL, fd, fGetPipeSize, 0)
			size = int(n)
		})
	}()
	if cerr == nil && size < len(b) {
		cerr = fmt.Errorf("the job's environment is %d bytes; a pipe here holds %d (fs.pipe-max-size)", len(b), size)
	}
	if cerr == nil {
		_, cerr = w.Write(b) // fits: does not block
	}
	if cerr != nil {
		r.Close()
		return nil, fmt.Errorf("pass the job's environment: %w", cerr)
	}
	return r, nil
}

func (e *Executor) header(p *plan) []string {
	h := []string{fmt.Sprintf("image %q is not used by the local executor; running on this machine", p.Image)}
	if e.iso.name() == IsolationNone {
		h = append(h, fmt.Sprintf("no isolation: the job runs in %s and sees this machine's /mnt; GITLAUNCH_WORKSPACE=%s", p.HostWorkdir, p.Mounts[0].Src))
		for _, m := range p.Mounts[1:] {
			h = append(h, fmt.Sprintf("%s is not mounted; its data is at %s (GITLAUNCH_MOUNT_%s)", m.Dst, m.Src, envKey(m.Dst)))
		}
	}
	return append(h, p.Notes...)
}

// fail reports a launch that cannot go on as a terminal StateError. A
// full disk says so first, and is not retried: it would fill again. (The
// words are checked, not the errno: git and shells do not wrap it.)
func (e *Executor) fail(ctx context.Context, sink engine.Sink, id, reason string, retryable bool) error {
	if strings.Contains(reason, syscall.ENOSPC.Error()) && !strings.HasPrefix(reason, "data directory full") {
		reason, retryable = "data directory full: "+reason, false
	}
	e.log.Warn("local run failed to start", "run", id, "reason", reason)
	e.update(ctx, sink, id, engine.Update{State: engine.StateError, Reason: reason, Retryable: retryable})
	return fmt.Errorf("local run %s: %s", id, reason)
}

func (e *Executor) update(ctx context.Context, sink engine.Sink, id string, u engine.Update) {
	if u.At.IsZero() {
		u.At = e.now()
	}
	if err := sink.Update(ctx, id, u); err != nil {
		e.log.Warn("sink update", "run", id, "state", u.State, "err", err)
	}
}
