package render

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// mainContainer renders the `job` container onto the base's.
func (r *renderer) mainContainer(v *podVolumes) (corev1.Container, error) {
	c := baseContainer(r.pod.Spec.Containers, ContainerJob)
	image := firstNonEmpty(r.job.Image, r.cfg.Defaults.Image, c.Image)
	if image == "" {
		return c, errors.New("image: the job names none and the config has no defaults.image")
	}
	if strings.TrimSpace(r.job.Command) == "" {
		return c, errors.New("command: empty")
	}
	wd, err := r.workingDir()
	if err != nil {
		return c, err
	}
	env, err := r.env(c.Env)
	if err != nil {
		return c, err
	}
	res, err := r.resources(c.Resources)
	if err != nil {
		return c, err
	}
	c.Image = image
	// The user's command is the Pod's only shell string, one argv element.
	c.Command = []string{"sh", "-c", literal(r.job.Command)}
	c.Args = nil
	c.WorkingDir = wd
	c.Env = env
	c.Resources = res
	c.VolumeMounts = mergeMounts(c.VolumeMounts, v.mainMounts)
	return c, nil
}

// cloneContainer renders the `clone` init container onto the base's.
func (r *renderer) cloneContainer(main corev1.Container, v *podVolumes) corev1.Container {
	c := baseContainer(r.pod.Spec.InitContainers, ContainerClone)
	c.Image = firstNonEmpty(r.cfg.CloneImage, c.Image, DefaultCloneImage)
	c.Command = []string{"gitlaunch", "clone"}
	// Flag and value are separate argv elements and no shell sees them;
	// clone's flag parser takes the element after a flag as its value.
	args := []string{"--repo", literal(r.run.RepoURL), "--sha", r.run.SHA}
	if r.run.Ref != "" {
		args = append(args, "--ref", literal(r.run.Ref))
	}
	args = append(args, "--dest", literal(r.workspace()))
	if r.run.CloneSecret != "" {
		args = append(args, "--token-file", TokenFile)
	}
	c.Args = args
	c.RestartPolicy = nil // a step, not a sidecar
	if c.SecurityContext == nil && main.SecurityContext != nil {
		c.SecurityContext = main.SecurityContext.DeepCopy()
	}
	c.VolumeMounts = mergeMounts(c.VolumeMounts, v.cloneMounts)
	return c
}

// workingDir is /mnt/<repo>/<job dir>/<workdir>, which may not leave the
// repository.
func (r *renderer) workingDir() (string, error) {
	dir, wd := r.job.Dir, r.job.Workdir
	if path.IsAbs(dir) || path.IsAbs(wd) {
		return "", fmt.Errorf("workdir %q in %q: want a path relative to the job's folder", wd, dir)
	}
	rel := path.Join(".", dir, wd)
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("workdir %q in %q: leaves the repository", wd, dir)
	}
	if strings.ContainsRune(rel, 0) {
		return "", fmt.Errorf("workdir %q: holds a NUL byte", wd)
	}
	return path.Join(r.workspace(), rel), nil
}

// env is the base's env, then the job's (sorted), the run's context and
// the secrets; a later entry of the same name replaces an earlier one.
func (r *renderer) env(base []corev1.EnvVar) ([]corev1.EnvVar, error) {
	all := slices.Clone(base)
	for _, k := range sortedKeys(r.job.Env) {
		if msgs := validation.IsEnvVarName(k); len(msgs) > 0 {
			return nil, fmt.Errorf("env %q: %s", k, strings.Join(msgs, "; "))
		}
		all = append(all, corev1.EnvVar{Name: k, Value: literal(r.job.Env[k])})
	}
	run := r.run
	pr := ""
	if run.PR > 0 {
		pr = strconv.Itoa(run.PR)
	}
	for _, kv := range [][2]string{
		{"GITLAUNCH_REPO", run.Repo},
		{"GITLAUNCH_SHA", run.SHA},
		{"GITLAUNCH_REF", run.Ref},
		{"GITLAUNCH_BRANCH", run.Branch},
		{"GITLAUNCH_PR", pr},
		{"GITLAUNCH_JOB", r.job.Name},
		{"GITLAUNCH_RUN_ID", run.RunID},
		{"GITLAUNCH_TRIGGER", run.Trigger},
		{"GITLAUNCH_WORKSPACE", r.workspace()},
	} {
		all = append(all, corev1.EnvVar{Name: kv[0], Value: literal(kv[1])})
	}
	// Untrusted runs never see secrets; without a Secret name (the local
	// executor) the executor supplies them.
	if !run.Untrusted && run.SecretName != "" {
		secrets := slices.Clone(r.job.Secrets)
		slices.Sort(secrets)
		for _, s := range slices.Compact(secrets) {
			if msgs := append(validation.IsEnvVarName(s), validation.IsConfigMapKey(s)...); len(msgs) > 0 {
				return nil, fmt.Errorf("secrets: %q: %s", s, strings.Join(msgs, "; "))
			}
			all = append(all, corev1.EnvVar{Name: s, ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: run.SecretName},
					Key:                  s,
				},
			}})
		}
	}
	return lastWins(all), nil
}

// lastWins keeps the last entry of each name, in the order of those.
func lastWins(env []corev1.EnvVar) []corev1.EnvVar {
	last := make(map[string]int, len(env))
	for i, e := range env {
		last[e.Name] = i
	}
	out := make([]corev1.EnvVar, 0, len(last))
	for i, e := range env {
		if last[e.Name] == i {
			out = append(out, e)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// placeContainer puts c where the base has a container of its name, or
// else first (first=true) or last.
func placeContainer(list []corev1.Container, c corev1.Container, first bool) []corev1.Container {
	for i := range list {
		if list[i].Name == c.Name {
			list[i] = c
			return list
		}
	}
	if first {
		return append([]corev1.Container{c}, list...)
	}
	return append(list, c)
}

// baseContainer returns a copy of the base's container named name, or an
// empty one.
func baseContainer(list []corev1.Container, name string) corev1.Container {
	for _, c := range list {
		if c.Name == name {
			return *c.DeepCopy()
		}
	}
	return corev1.Container{Name: name}
}
