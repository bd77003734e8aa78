package render

import (
	"fmt"
	"path"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// podVolumes are the volumes gitlaunch adds and where each container
// mounts them.
type podVolumes struct {
	volumes     []corev1.Volume
	mainMounts  []corev1.VolumeMount
	cloneMounts []corev1.VolumeMount
}

func (r *renderer) volumes() (*podVolumes, error) {
	v := &podVolumes{}
	ws := corev1.VolumeMount{
		Name:      VolumeWorkspace,
		MountPath: r.workspace(),
		SubPath:   "runs/" + r.run.RunID,
	}
	v.volumes = append(v.volumes, corev1.Volume{Name: VolumeWorkspace, VolumeSource: r.resultsSource()})
	v.mainMounts = append(v.mainMounts, ws)
	v.cloneMounts = append(v.cloneMounts, ws)

	if shm := r.job.Resources.SHM; shm != "" {
		q, err := resource.ParseQuantity(shm)
		if err != nil {
			return nil, fmt.Errorf("resources.shm %q: %w", shm, err)
		}
		v.volumes = append(v.volumes, corev1.Volume{Name: VolumeSHM, VolumeSource: corev1.VolumeSource{
			EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &q},
		}})
		v.mainMounts = append(v.mainMounts, corev1.VolumeMount{Name: VolumeSHM, MountPath: SHMPath})
	}

	if s := r.run.CloneSecret; s != "" {
		v.volumes = append(v.volumes, corev1.Volume{Name: VolumeGitToken, VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: s},
		}})
		v.cloneMounts = append(v.cloneMounts, corev1.VolumeMount{Name: VolumeGitToken, MountPath: TokenDir, ReadOnly: true})
	}

	if err := r.datasets(v); err != nil {
		return nil, err
	}
	return v, nil
}

// resultsSource is the config's results volume, or an emptyDir (results
// then live as long as the Pod).
func (r *renderer) resultsSource() corev1.VolumeSource {
	res := r.cfg.Results
	switch {
	case res.ClaimName != "":
		return corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: res.ClaimName}}
	case res.Volume != nil:
		return *res.Volume.DeepCopy()
	default:
		return corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	}
}

// datasets adds one read-only volume per dataset the job names, from the
// config's dataset table.
func (r *renderer) datasets(v *podVolumes) error {
	mounted := map[string]string{} // mount path → what is there
	for _, m := range v.mainMounts {
		mounted[m.MountPath] = m.Name
	}
	added := map[string]bool{}
	for i, d := range r.job.Datasets {
		src, ok := r.cfg.Datasets[d.Name]
		if !ok || src.Volume == nil {
			return fmt.Errorf("datasets[%d]: dataset %q has no volume in the cluster config", i, d.Name)
		}
		p := d.Path
		if p == "" {
			p = path.Join(MountRoot, "datasets", d.Name)
		}
		if !path.IsAbs(p) || path.Clean(p) != p {
			return fmt.Errorf("datasets[%d]: path %q of dataset %q: want a clean absolute path", i, p, d.Name)
		}
		if what, dup := mounted[p]; dup {
			return fmt.Errorf("datasets[%d]: path %q of dataset %q is already used by %s", i, p, d.Name, what)
		}
		name := dnsLabel(VolumeDatasetPrefix, d.Name)
		mounted[p] = "dataset " + d.Name
		if !added[name] {
			added[name] = true
			v.volumes = append(v.volumes, corev1.Volume{Name: name, VolumeSource: *src.Volume.DeepCopy()})
		}
		v.mainMounts = append(v.mainMounts, corev1.VolumeMount{Name: name, MountPath: p, ReadOnly: true})
	}
	return nil
}

// mergeVolumes drops base volumes whose names gitlaunch uses and appends
// gitlaunch's.
func mergeVolumes(base, own []corev1.Volume) []corev1.Volume {
	names := map[string]bool{}
	for _, v := range own {
		names[v.Name] = true
	}
	var out []corev1.Volume
	for _, v := range base {
		if !names[v.Name] {
			out = append(out, v)
		}
	}
	return append(out, own...)
}

// mergeMounts drops base mounts of a volume or at a path gitlaunch mounts
// and appends gitlaunch's.
func mergeMounts(base, own []corev1.VolumeMount) []corev1.VolumeMount {
	names, paths := map[string]bool{}, map[string]bool{}
	for _, m := range own {
		names[m.Name] = true
		paths[m.MountPath] = true
	}
	var out []corev1.VolumeMount
	for _, m := range base {
		if !names[m.Name] && !paths[m.MountPath] {
			out = append(out, m)
		}
	}
	return append(out, own...)
}
