package kube

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/sync/results"
)

// resultsFor locates a finished run's folders on the results volume, as
// this process sees it (dir): the syncer mounts the volume the Pods mount,
// and the Pod says where in it the run's workspace is (its subPath) and
// which folder of that is the job's (workingDir under the mount).
func resultsFor(dir string, p *corev1.Pod) (*results.Reader, error) {
	var c *corev1.Container
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == render.ContainerJob || len(p.Spec.Containers) == 1 {
			c = &p.Spec.Containers[i]
		}
	}
	if c == nil {
		return nil, errors.New("the Pod has no job container")
	}
	for _, m := range c.VolumeMounts {
		if m.Name != render.VolumeWorkspace {
			continue
		}
		sub := path.Clean(m.SubPath)
		if m.SubPath == "" || !filepath.IsLocal(filepath.FromSlash(sub)) {
			return nil, fmt.Errorf("the workspace mount has subPath %q, not a folder of the results volume", m.SubPath)
		}
		r := &results.Reader{Workspace: filepath.Join(dir, filepath.FromSlash(sub))}
		r.Workdir = r.Workspace
		wd := path.Clean(c.WorkingDir)
		mount := path.Clean(m.MountPath)
		if rel, ok := strings.CutPrefix(wd, mount+"/"); ok && c.WorkingDir != "" {
			if !filepath.IsLocal(filepath.FromSlash(rel)) {
				return nil, fmt.Errorf("workingDir %q leaves the workspace", c.WorkingDir)
			}
			r.Workdir = filepath.Join(r.Workspace, filepath.FromSlash(rel))
		}
		return r, nil
	}
	return nil, errors.New("the job container does not mount the workspace volume")
}
