package local

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	corev1 "k8s.io/api/core/v1"
)

// Names the render package gives the parts of a run Pod.
const (
	jobContainer    = "job"
	workspaceVolume = "workspace"
	datasetPrefix   = "dataset-"
	mntRoot         = "/mnt"
)

// mount is one bind mount into the job's view.
type mount struct {
	Src      string // host path
	Dst      string // absolute path the job sees, under /mnt
	ReadOnly bool
}

// plan is a Launch translated into what runs on this machine.
type plan struct {
	Argv    []string // container command + args, verbatim
	Env     []string // KEY=VALUE, sorted by key
	Image   string
	WSMount string // where the job sees the workspace, e.g. /mnt/mnist-repo
	// Workdir is the job's working directory as the job sees it when
	// isolated; HostWorkdir is the same folder on this machine.
	Workdir     string
	HostWorkdir string
	Mounts      []mount // workspace first, then by depth of Dst
	Deadline    time.Duration
	ShmSize     int64 // bytes of the /dev/shm tmpfs (sandbox); 0 = tmpfs default
	// Notes are lines for the run log about what differs from a cluster.
	Notes []string
}

var runIDPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// planLaunch reads the Pod of a Launch. It is pure apart from looking up
// dataset paths on disk, so bad Pods fail here, before anything is cloned.
func planLaunch(l engine.Launch, o *Options, dir runDir, mode string) (*plan, error) {
	if l.Run == nil || l.Pod == nil || l.Job == nil {
		return nil, fmt.Errorf("launch needs a Run, a Job and a Pod")
	}
	if !runIDPattern.MatchString(l.Run.ID) {
		return nil, fmt.Errorf("run id %q is not a DNS-1123 label", l.Run.ID)
	}
	c, err := mainContainer(l.Pod)
	if err != nil {
		return nil, err
	}
	p := &plan{Image: c.Image}
	p.Argv = append(append([]string{}, c.Command...), c.Args...)
	if len(p.Argv) == 0 {
		return nil, fmt.Errorf("container %q has no command: the local executor cannot use the image's entrypoint", c.Name)
	}
	if d := l.Pod.Spec.ActiveDeadlineSeconds; d != nil && *d > 0 {
		p.Deadline = time.Duration(*d) * time.Second
	}

	volumes := map[string]corev1.Volume{}
	for _, v := range l.Pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	var rest []mount
	for _, vm := range c.VolumeMounts {
		mp := path.Clean(vm.MountPath)
		switch {
		case vm.Name == workspaceVolume:
			if !underMnt(mp) {
				return nil, fmt.Errorf("workspace mount path %q is not under /mnt", vm.MountPath)
			}
			p.WSMount = mp
		case mp == "/dev/shm":
			// The sandbox has its own /dev/shm, of the emptyDir's size.
			if v, ok := volumes[vm.Name]; ok && v.EmptyDir != nil && v.EmptyDir.SizeLimit != nil {
				p.ShmSize = v.EmptyDir.SizeLimit.Value()
			}
		case !underMnt(mp):
			p.Notes = append(p.Notes, fmt.Sprintf("volume %q at %s is not mounted: the local executor mounts only under /mnt", vm.Name, mp))
		case strings.HasPrefix(vm.Name, datasetPrefix):
			src, err := datasetPath(l, o, vm.Name, mp)
			if err != nil {
				return nil, err
			}
			// Datasets are read-only whatever the mount says.
			rest = append(rest, mount{Src: src, Dst: mp, ReadOnly: true})
		default:
			v, ok := volumes[vm.Name]
			switch {
			case ok && v.HostPath != nil:
				if _, err := os.Stat(v.HostPath.Path); err != nil {
					return nil, fmt.Errorf("hostPath volume %q: %w", vm.Name, err)
				}
				rest = append(rest, mount{Src: v.HostPath.Path, Dst: mp, ReadOnly: vm.ReadOnly})
			case ok && v.EmptyDir != nil:
				src := dir.EmptyDir(vm.Name)
				if err := os.MkdirAll(src, 0o755); err != nil {
					return nil, fmt.Errorf("emptyDir volume %q: %w", vm.Name, err)
				}
				rest = append(rest, mount{Src: src, Dst: mp, ReadOnly: vm.ReadOnly})
			default:
				p.Notes = append(p.Notes, fmt.Sprintf("volume %q at %s is not mounted: only workspace, dataset-*, hostPath and emptyDir volumes exist locally", vm.Name, mp))
			}
		}
	}
	if p.WSMount == "" {
		return nil, fmt.Errorf("container %q does not mount the %q volume", c.Name, workspaceVolume)
	}
	for _, m := range rest {
		if m.Dst == p.WSMount || within(m.Dst, p.WSMount) {
			return nil, fmt.Errorf("mount %s would hide or enter the workspace at %s", m.Dst, p.WSMount)
		}
	}
	sort.SliceStable(rest, func(i, j int) bool { return strings.Count(rest[i].Dst, "/") < strings.Count(rest[j].Dst, "/") })
	p.Mounts = append([]mount{{Src: dir.Workspace(), Dst: p.WSMount}}, rest...)

	p.Workdir = path.Clean(c.WorkingDir)
	if c.WorkingDir == "" {
		p.Workdir = p.WSMount
	}
	if p.Workdir != p.WSMount && !within(p.Workdir, p.WSMount) {
		return nil, fmt.Errorf("workingDir %q is outside the workspace %s", c.WorkingDir, p.WSMount)
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(p.Workdir, p.WSMount), "/")
	p.HostWorkdir = filepath.Join(dir.Workspace(), filepath.FromSlash(rel))

	// HOME and TMPDIR: the run's own folder, which the sandbox shows as
	// /tmp; without bwrap the job sees this machine's /tmp, so the real path.
	home := "/tmp"
	if mode != IsolationBwrap {
		home = dir.Tmp()
	}
	env, err := buildEnv(l, c, p, home, mode == IsolationNone)
	if err != nil {
		return nil, err
	}
	p.Env = env
	return p, nil
}

func mainContainer(pod *corev1.Pod) (*corev1.Container, error) {
	cs := pod.Spec.Containers
	for i := range cs {
		if cs[i].Name == jobContainer {
			return &cs[i], nil
		}
	}
	if len(cs) == 1 {
		return &cs[0], nil
	}
	return nil, fmt.Errorf("pod %q has %d containers and none is named %q", pod.Name, len(cs), jobContainer)
}

// datasetPath finds the host folder for a dataset volume. Options.Datasets
// is keyed by the volume name ("dataset-mnist") or the dataset name
// ("mnist"); the dataset name comes from the volume name or, when render
// had to change the name to make it a valid volume name, from the job's
// dataset whose path is this mount.
func datasetPath(l engine.Launch, o *Options, volume, mountPath string) (string, error) {
	keys := []string{volume, strings.TrimPrefix(volume, datasetPrefix)}
	for _, d := range l.Job.Datasets {
		if path.Clean(d.Path) == mountPath {
			keys = append(keys, d.Name)
		}
	}
	for _, k := range keys {
		src, ok := o.Datasets[k]
		if !ok {
			continue
		}
		st, err := os.Stat(src)
		if err != nil {
			return "", fmt.Errorf("dataset %q (volume %q at %s): local path: %w", k, volume, mountPath, err)
		}
		if !st.IsDir() {
			return "", fmt.Errorf("dataset %q (volume %q at %s): local path %s is not a folder", k, volume, mountPath, src)
		}
		return src, nil
	}
	return "", fmt.Errorf("dataset volume %q at %s has no localPath in the config (looked for %s)", volume, mountPath, strings.Join(quoteAll(keys), ", "))
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

func underMnt(p string) bool { return within(p, mntRoot) }

// within reports whether clean absolute path p is strictly inside dir.
func within(p, dir string) bool {
	return strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}
