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
"$@"
code=$?
exit "$code"`

// isolator turns a plan into the argv that runs it.
type isolator interface {
	name() string
	argv(p *plan, d runDir) []string
}

type bwrapIsolator struct{ bin string }

func (bwrapIsolator) name() string { return IsolationBwrap }

// The whole host is bound (devices included, so GPUs stay usable); a fresh
// tmpfs hides the host's /mnt; bwrap resolves bind sources in the old root,
// so they may live under /mnt. --unshare-pid gives the job its own PID
// namespace (and /proc) so nothing it starts outlives it.
func (b bwrapIsolator) argv(p *plan, d runDir) []string {
	a := []string{b.bin, "--dev-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "--die-with-parent", "--tmpfs", mntRoot}
	for _, m := range p.Mounts {
		flag := "--bind"
		if m.ReadOnly {
			flag = "--ro-bind"
		}
		a = append(a, flag, m.Src, m.Dst)
	}
	a = append(a, "--chdir", p.Workdir, "--")
	return append(a, p.Argv...)
}

type unshareIsolator struct{ bin, sh string }

func (unshareIsolator) name() string { return IsolationUnshare }

func (u unshareIsolator) argv(p *plan, d runDir) []string {
	a := []string{u.bin, "--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc", "--kill-child",
		"--", u.sh, "-c", unshareScript, "gitlaunch-mnt", d.Stage(), p.Workdir}
	for _, m := range p.Mounts {
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		a = append(a, mode, m.Src, strings.TrimPrefix(m.Dst, mntRoot+"/"))
	}
	a = append(a, "--")
	return append(a, p.Argv...)
}

type noIsolator struct{}

func (noIsolator) name() string                    { return IsolationNone }
func (noIsolator) argv(p *plan, _ runDir) []string { return p.Argv }

// pickIsolation resolves a mode: an explicit one must work here; auto takes
// the first that does of bwrap, unshare (root only), none.
func pickIsolation(ctx context.Context, mode string) (isolator, error) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		return nil, fmt.Errorf("local executor needs sh: %w", err)
	}
	tryBwrap := func() (isolator, error) {
		bin, err := exec.LookPath("bwrap")
		if err != nil {
			return nil, fmt.Errorf("bwrap not found (Debian package bubblewrap): %w", err)
		}
		return bwrapIsolator{bin}, probe(ctx, bin, "--dev-bind", "/", "/", "--unshare-pid", "--proc", "/proc", "--die-with-parent", "--tmpfs", mntRoot, "--", sh, "-c", "test -d /mnt")
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
		return noIsolator{}, nil
	case IsolationAuto, "":
		var errs []error
		for _, try := range []func() (isolator, error){tryBwrap, tryUnshare} {
			iso, err := try()
			if err == nil {
				return iso, nil
			}
			errs = append(errs, err)
		}
		return noIsolator{}, errors.Join(errs...)
	}
	return nil, fmt.Errorf("isolation %q: want auto, bwrap, unshare or none", mode)
}

// probe runs a command that exercises the namespaces a mode needs.
func probe(ctx context.Context, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s does not work here: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}
