package local

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gitlaunch/gitlaunch/schema"
)

// The bwrap sandbox: what a job sees of this machine.
//
// The design is "the host, read-only, minus what is not the job's": the job
// runs the machine's programs, libraries and drivers as a container would
// run its image, and may write only to its workspace, its emptyDirs, its
// private /tmp and /dev/shm. gitlaunch's data directory (store, other runs'
// workspaces and logs, git caches) and credential files are covered by an
// empty read-only tmpfs (folders) or /dev/null (files). The job has its own
// PID and IPC namespaces and /proc, no capabilities even when the syncer is
// root, and a /dev holding only the standard nodes and the GPUs.

// hostView is what the sandbox shows or hides of this machine besides /mnt,
// resolved at launch (devices and files come and go).
type hostView struct {
	HideDirs, HideFiles []string // covered; parents before children
	Devices             []string // GPU device nodes, bound at the same path
	ReadOnlyProc        []string // kernel knobs a uid-0 job could write
	MaskDirs, MaskFiles []string // kernel interfaces that leak or harm
	ResolvConf          string   // /etc/resolv.conf's target when under /run
	VarTmp, VarRun      bool     // /var/tmp and /var/run are folders (not links)
}

// Package variables so that tests can point them at fakes.
var (
	// gpuDevicePatterns are globs of the device nodes GPUs need: NVIDIA
	// (nvidia0..N, nvidiactl, nvidia-uvm, nvidia-modeset, nvidia-caps/ for
	// MIG) and DRM render nodes and KFD for AMD and Intel.
	gpuDevicePatterns = []string{"/dev/nvidia*", "/dev/dri", "/dev/kfd"}
	// homeCredentials are the usual credential stores under the syncer
	// user's home: SSH and GPG keys, cloud and registry logins, the GitHub
	// CLI's token, git credentials, kubeconfigs.
	homeCredentials = []string{".ssh", ".gnupg", ".aws", ".azure", ".config/gcloud", ".config/gh",
		".docker", ".kube", ".netrc", ".git-credentials", ".config/git/credentials", ".pypirc",
		".password-store", ".local/share/keyrings", ".config/gitlaunch"}
)

// A job runs as the syncer's user, which may be root: bwrap drops every
// capability, but uid 0 still owns these files and could write them
// (/proc/sys/kernel/core_pattern runs a program as root on the host).
// bwrap covers some of them only when it finds them writable; all of them
// are bound read-only here. The masks follow what container runtimes hide.
var (
	procReadOnly = []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/fs", "/proc/bus", "/proc/irq"}
	kernelMasks  = []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/acpi",
		"/proc/scsi", "/proc/latency_stats", "/proc/asound", "/sys/firmware", "/sys/devices/virtual/powercap",
		"/sys/kernel/debug", "/sys/kernel/tracing", "/sys/kernel/security"}
)

// privateRoots are replaced as a whole in the sandbox, so a hidden path
// under one needs no mount of its own.
var privateRoots = []string{"/tmp", "/var/tmp", "/run", "/var/run", "/dev", "/proc", mntRoot}

// ConfigSecrets lists the files of a config that hold credentials: the
// repositories' token, SSH key and secrets files, the GitHub token and
// webhook secret, the kubeconfig. Pass them as Options.Hide so that no job
// can read them.
func ConfigSecrets(c *schema.Config) []string {
	var out []string
	add := func(p string) {
		if p != "" {
			out = append(out, c.Resolve(p))
		}
	}
	for _, r := range c.Repos {
		add(r.TokenFile)
		add(r.SSHKeyFile)
		add(r.SecretsFile)
	}
	add(c.GitHub.TokenFile)
	add(c.GitHub.WebhookSecretFile)
	add(c.Kube.Kubeconfig)
	return out
}

// resolveView looks at this machine to decide what to hide and show.
// dataDir and hide are the executor's; the syncer's home and KUBECONFIG
// come from its (trusted) environment.
func resolveView(dataDir string, hide []string) hostView {
	v := hostView{}
	cands := append([]string{dataDir}, hide...)
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		for _, c := range homeCredentials {
			cands = append(cands, filepath.Join(home, c))
		}
	}
	cands = append(cands, filepath.SplitList(os.Getenv("KUBECONFIG"))...)
	v.HideDirs, v.HideFiles = hiddenPaths(cands)

	for _, pat := range gpuDevicePatterns {
		m, _ := filepath.Glob(pat)
		v.Devices = append(v.Devices, m...)
	}
	for _, p := range procReadOnly {
		if exists(p) {
			v.ReadOnlyProc = append(v.ReadOnlyProc, p)
		}
	}
	for _, p := range kernelMasks {
		if st, err := os.Lstat(p); err == nil {
			if st.IsDir() {
				v.MaskDirs = append(v.MaskDirs, p)
			} else {
				v.MaskFiles = append(v.MaskFiles, p)
			}
		}
	}
	// /run is replaced by an empty tmpfs (sockets of systemd, D-Bus, the
	// container runtime live there); DNS often points into it.
	if r, err := filepath.EvalSymlinks("/etc/resolv.conf"); err == nil && within(r, "/run") {
		v.ResolvConf = r
	}
	v.VarTmp = isDir("/var/tmp")
	v.VarRun = isDir("/var/run")
	return v
}

// hiddenPaths resolves candidates to real paths (a link is followed, so
// hiding its target hides what it shows) and sorts them into folders and
// files, dropping missing ones, "/", ones under a private root and ones
// inside another hidden folder.
func hiddenPaths(cands []string) (dirs, files []string) {
	type hidden struct {
		p   string
		dir bool
	}
	var hs []hidden
	for _, c := range cands {
		if c == "" || !filepath.IsAbs(c) {
			continue
		}
		real, err := filepath.EvalSymlinks(filepath.Clean(c))
		if err != nil || real == "/" {
			continue
		}
		st, err := os.Stat(real)
		if err != nil {
			continue
		}
		hs = append(hs, hidden{real, st.IsDir()})
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].p < hs[j].p })
	for _, h := range hs {
		covered := slices.ContainsFunc(privateRoots, func(r string) bool { return h.p == r || within(h.p, r) }) ||
			slices.ContainsFunc(dirs, func(d string) bool { return h.p == d || within(h.p, d) })
		switch {
		case covered:
		case h.dir:
			dirs = append(dirs, h.p)
		case !slices.Contains(files, h.p):
			files = append(files, h.p)
		}
	}
	return dirs, files
}

func isDir(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.IsDir()
}

// bwrapArgs is the sandbox as bwrap options, in order (later mounts go on
// top of earlier ones; bwrap resolves every bind source on the host, so a
// source may lie under a hidden folder).
func bwrapArgs(p *plan, d runDir, v hostView) []string {
	a := []string{
		"--args", "3", // the job's environment: bwrapEnvArgs
		"--unshare-pid", "--unshare-ipc", "--unshare-cgroup-try", "--die-with-parent",
		// bwrap keeps every capability of a root caller unless told.
		"--cap-drop", "ALL",
		"--ro-bind", "/", "/",
	}
	for _, h := range v.HideDirs {
		a = append(a, "--tmpfs", h)
	}
	for _, h := range v.HideFiles {
		a = append(a, "--ro-bind", "/dev/null", h)
	}
	a = append(a, "--dev", "/dev")
	for _, dev := range v.Devices {
		a = append(a, "--dev-bind", dev, path.Join("/dev", filepath.Base(dev)))
	}
	if p.ShmSize > 0 {
		a = append(a, "--size", strconv.FormatInt(p.ShmSize, 10))
	}
	a = append(a, "--tmpfs", "/dev/shm", "--proc", "/proc")
	for _, k := range v.ReadOnlyProc {
		a = append(a, "--ro-bind", k, k)
	}
	for _, m := range v.MaskFiles {
		a = append(a, "--ro-bind", "/dev/null", m)
	}
	for _, m := range v.MaskDirs {
		a = append(a, "--tmpfs", m, "--remount-ro", m)
	}
	runs := []string{"/run"}
	if v.VarRun {
		runs = append(runs, "/var/run")
	}
	for _, r := range runs {
		a = append(a, "--tmpfs", r)
		if v.ResolvConf != "" && within(v.ResolvConf, r) {
			a = append(a, "--ro-bind", v.ResolvConf, v.ResolvConf)
		}
		a = append(a, "--remount-ro", r)
	}
	a = append(a, "--bind", d.Tmp(), "/tmp")
	if v.VarTmp {
		a = append(a, "--bind", d.Tmp(), "/var/tmp")
	}
	a = append(a, "--tmpfs", mntRoot)
	for _, m := range p.Mounts {
		flag := "--bind"
		if m.ReadOnly {
			flag = "--ro-bind"
		}
		a = append(a, flag, m.Src, m.Dst)
	}
	// Hidden folders stay writable until here so that mount points can be
	// made in them; then they are empty and read-only.
	for _, h := range v.HideDirs {
		a = append(a, "--remount-ro", h)
	}
	return append(a, "--chdir", p.Workdir)
}

// describe says in one line what the sandbox shows, for the run log.
func (v hostView) describe(p *plan) string {
	var b strings.Builder
	b.WriteString("sandbox: bwrap; this machine read-only; writable: ")
	b.WriteString(p.WSMount)
	for _, m := range p.Mounts[1:] {
		if !m.ReadOnly {
			b.WriteString(", " + m.Dst)
		}
	}
	b.WriteString(", /tmp, /dev/shm; own processes, no capabilities; gitlaunch's data and credentials hidden")
	if len(v.Devices) > 0 {
		b.WriteString("; devices: " + strings.Join(v.Devices, " "))
	}
	return b.String()
}
