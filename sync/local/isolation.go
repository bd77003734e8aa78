package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Isolation modes.
const (
	IsolationAuto    = "auto"
	IsolationBwrap   = "bwrap"
	IsolationUnshare = "unshare"
	IsolationNone    = "none"
)

// wrapperEnv is the whole environment of everything gitlaunch runs outside
// the job (the outer script, bwrap, unshare and its script): fixed, so that
// nothing a job sets (PATH, LD_PRELOAD, ENV, IFS, ...) can change what
// they do. The job's own environment reaches it through fd 3.
var wrapperEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}

// outerScript runs outside any sandbox as the process-group leader. It runs
// its arguments and records their exit status in the exit file ($1), so a
// run adopted after a syncer restart still learns how it ended. The traps
// keep it alive when the group is signalled; the programs it starts get the
// default signal actions back.
//
// User strings are never part of this text: they arrive as "$@". The status
// handling follows the command so that sh cannot exec it in its place.
const outerScript = `exitfile=$1
shift
trap : TERM INT HUP
"$@"
code=$?
printf '%s\n' "$code" >"$exitfile.tmp" && mv -f "$exitfile.tmp" "$exitfile"
exit "$code"`

// execScript gives the job its environment (shellExports on fd 3) and
// becomes the job, with fd 3 closed. Only this short-lived subshell, about
// to exec the job's own program, ever holds the job's variables.
const execScript = `. /dev/fd/3 && exec "$@" 3<&-`

// unshareScript runs as PID 1 of a new PID and mount namespace (unshare
// mode). It builds the /mnt tree on a tmpfs at the stage folder while the
// sources can still be reached (they may live under /mnt themselves), moves
// the tree over /mnt, and runs the job as its child: staying PID 1 without
// a TERM handler, it is not killed by SIGTERM, and its exit ends the
// namespace and every process left in it, as when a container stops.
//
// Arguments: stage workdir {rw|ro src dst-under-/mnt}... -- command...
const unshareScript = `stage=$1 wd=$2
shift 2
fail() { printf 'gitlaunch: %s\n' "$*" >&2; exit 125; }
mount -t tmpfs -o mode=755 gitlaunch "$stage" || fail "cannot mount a tmpfs at $stage"
while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
	mkdir -p "$stage/$3" || fail "cannot create mount point /mnt/$3"
	mount --rbind "$2" "$stage/$3" || fail "cannot bind $2 to /mnt/$3"
	if [ "$1" = ro ]; then mount -o remount,bind,ro "$stage/$3" || fail "cannot make /mnt/$3 read-only"; fi
	shift 3
done
shift
mount --move "$stage" /mnt || fail "cannot move the new tree over /mnt"
cd "$wd" || fail "cannot enter $wd"
(` + execScript + `)
code=$?
exit "$code"`

// isolator turns a plan into what runs it: the argv (run by the outer
// script, with wrapperEnv) and the bytes the process reads from fd 3, which
// carry the job's environment.
type isolator interface {
	name() string
	// sandboxed reports whether the job is confined: the host read-only,
	// gitlaunch's data hidden. Only bwrap is.
	sandboxed() bool
	command(p *plan, d runDir, v hostView) (argv []string, fd3 []byte, notes []string)
}

type bwrapIsolator struct{ bin string }

func (bwrapIsolator) name() string    { return IsolationBwrap }
func (bwrapIsolator) sandboxed() bool { return true }

func (b bwrapIsolator) command(p *plan, d runDir, v hostView) ([]string, []byte, []string) {
	a := append([]string{b.bin}, bwrapArgs(p, d, v)...)
	a = append(append(a, "--"), p.Argv...)
	return a, bwrapEnvArgs(p.Env), []string{v.describe(p)}
}

type unshareIsolator struct{ bin, sh string }

func (unshareIsolator) name() string    { return IsolationUnshare }
func (unshareIsolator) sandboxed() bool { return false }

func (u unshareIsolator) command(p *plan, d runDir, _ hostView) ([]string, []byte, []string) {
	a := []string{u.bin, "--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc", "--kill-child",
		"--", u.sh, "-c", unshareScript, "gitlaunch-mnt", d.Stage(), p.Workdir}
	for _, m := range p.Mounts {
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		a = append(a, mode, m.Src, strings.TrimPrefix(m.Dst, mntRoot+"/"))
	}
	a = append(append(a, "--"), p.Argv...)
	env, notes := shellEnv(p.Env)
	return a, env, append(notes, "isolation unshare is not a sandbox: the job has its own /mnt and processes but sees and may write this machine as the syncer's user")
}

type noIsolator struct{ sh string }

func (noIsolator) name() string    { return IsolationNone }
func (noIsolator) sandboxed() bool { return false }

func (n noIsolator) command(p *plan, _ runDir, _ hostView) ([]string, []byte, []string) {
	env, notes := shellEnv(p.Env)
	return append([]string{n.sh, "-c", execScript, "gitlaunch-job"}, p.Argv...), env, notes
}

// shellEnv is shellExports with notes for the run log.
func shellEnv(env []string) ([]byte, []string) {
	script, skipped := shellExports(env)
	var notes []string
	for _, k := range skipped {
		notes = append(notes, fmt.Sprintf("env %q is not set: sh cannot export that name (only the bwrap sandbox can)", k))
	}
	return script, notes
}

// pickIsolation resolves a mode: an explicit one must work here; auto takes
// the first that does of bwrap, unshare (root only), none, and returns it
// with the reasons the ones before it did not work. sh is an absolute path.
func pickIsolation(ctx context.Context, mode, sh string) (isolator, error) {
	tryBwrap := func() (isolator, error) {
		bin, err := exec.LookPath("bwrap")
		if err != nil {
			return nil, fmt.Errorf("bwrap not found (Debian package bubblewrap): %w", err)
		}
		// The options bwrapArgs uses, so that a bwrap too old for one of
		// them is found here, not at every launch.
		return bwrapIsolator{bin}, probe(ctx, bin, "--clearenv", "--setenv", "PATH", "/usr/bin:/bin",
			"--unshare-pid", "--unshare-ipc", "--unshare-cgroup-try", "--die-with-parent", "--cap-drop", "ALL",
			"--ro-bind", "/", "/", "--dev", "/dev", "--size", "1048576", "--tmpfs", "/dev/shm", "--proc", "/proc",
			"--tmpfs", "/run", "--remount-ro", "/run", "--tmpfs", mntRoot, "--chdir", "/", "--", sh, "-c", "test -d /mnt")
	}
	tryUnshare := func() (isolator, error) {
		if os.Geteuid() != 0 {
			return nil, errors.New("unshare mode needs root")
		}
		bin, err := exec.LookPath("unshare")
		if err != nil {
			return nil, fmt.Errorf("unshare not found (util-linux): %w", err)
		}
		return unshareIsolator{bin, sh}, probe(ctx, bin, "--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc", "--kill-child", "--", sh, "-c", "mount -t tmpfs gitlaunch /mnt")
	}
	switch mode {
	case IsolationBwrap:
		return tryBwrap()
	case IsolationUnshare:
		return tryUnshare()
	case IsolationNone:
		return noIsolator{sh}, nil
	case IsolationAuto, "":
		var errs []error
		for _, try := range []func() (isolator, error){tryBwrap, tryUnshare} {
			iso, err := try()
			if err == nil {
				return iso, errors.Join(errs...) // why the better ones did not work
			}
			errs = append(errs, err)
		}
		return noIsolator{sh}, errors.Join(errs...)
	}
	return nil, fmt.Errorf("isolation %q: want auto, bwrap, unshare or none", mode)
}

// probe runs a command that exercises the namespaces a mode needs.
func probe(ctx context.Context, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = wrapperEnv
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s does not work here: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}
