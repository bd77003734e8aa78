package local

import (
	"fmt"
	"github.com/gitlaunch/gitlaunch/render"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	corev1 "k8s.io/api/core/v1"
)

// DefaultPassEnv is what a job inherits from the syncer's environment when
// Options.PassEnv is nil: enough to find programs, the GPU and a proxy, and
// nothing that could hold the syncer's own credentials.
var DefaultPassEnv = []string{
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
	"LD_LIBRARY_PATH", "CUDA_HOME", "CUDA_VISIBLE_DEVICES",
	"NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
}

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// buildEnv layers the job's environment: passed-through host variables,
// then GITLAUNCH_* from the run (in case the Pod lacks any), then the
// container's env as rendered, with secretKeyRef values taken from
// l.Secrets. Only secrets the Pod references are injected.
func buildEnv(l engine.Launch, c *corev1.Container, pass []string, p *plan, isolated bool) ([]string, error) {
	env := map[string]string{}
	for _, k := range pass {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	if env["PATH"] == "" {
		env["PATH"] = defaultPath
	}
	r := l.Run
	env["GITLAUNCH_REPO"] = r.Repo
	env["GITLAUNCH_SHA"] = r.SHA
	env["GITLAUNCH_REF"] = r.Ref
	env["GITLAUNCH_JOB"] = r.JobName
	env["GITLAUNCH_RUN_ID"] = r.ID
	env["GITLAUNCH_TRIGGER"] = string(r.Trigger)
	if r.Branch != "" {
		env["GITLAUNCH_BRANCH"] = r.Branch
	}
	if r.PR > 0 {
		env["GITLAUNCH_PR"] = strconv.Itoa(r.PR)
	}
	env["GITLAUNCH_WORKSPACE"] = p.WSMount

	for _, ef := range c.EnvFrom {
		switch {
		case ef.SecretRef != nil:
			// The whole secret is referenced: every resolved key.
			for k, v := range l.Secrets {
				env[ef.Prefix+k] = v
			}
		default:
			p.Notes = append(p.Notes, "envFrom sources other than secretRef are not available locally; skipped")
		}
	}
	// $(VAR) refers to the container's own env, as the kubelet expands it:
	// an env value sees the variables defined before it; command and args
	// see them all.
	defined := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = expandRefs(e.Value, defined)
			defined[e.Name] = env[e.Name]
			continue
		}
		v, ok, err := valueFrom(l, e)
		if err != nil {
			return nil, err
		}
		if ok {
			env[e.Name] = v
			defined[e.Name] = v
		}
	}
	// Without a Kubernetes Secret (local setups name a secretsFile), the
	// Pod references no secret: the keys the job lists come from the values
	// the engine resolved, which it does for trusted runs only.
	if l.Job != nil {
		for _, k := range l.Job.Secrets {
			if _, set := env[k]; !set {
				if v, ok := l.Secrets[k]; ok {
					env[k] = v
				}
			}
		}
	}
	for i, a := range p.Argv {
		p.Argv[i] = expandRefs(a, defined)
	}
	if !isolated {
		// Without isolation nothing is at /mnt: point at the real folders.
		env["GITLAUNCH_WORKSPACE"] = string(p.Mounts[0].Src)
		for _, m := range p.Mounts[1:] {
			env["GITLAUNCH_MOUNT_"+envKey(m.Dst)] = m.Src
		}
	}

	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out, nil
}

func valueFrom(l engine.Launch, e corev1.EnvVar) (string, bool, error) {
	vf := e.ValueFrom
	switch {
	case vf.SecretKeyRef != nil:
		v, ok := l.Secrets[vf.SecretKeyRef.Key]
		if ok {
			return v, true, nil
		}
		if vf.SecretKeyRef.Optional != nil && *vf.SecretKeyRef.Optional {
			return "", false, nil
		}
		return "", false, fmt.Errorf("env %s: secret key %q is not among the secrets resolved for this run", e.Name, vf.SecretKeyRef.Key)
	case vf.FieldRef != nil:
		v, err := podField(l, vf.FieldRef.FieldPath)
		if err != nil {
			return "", false, fmt.Errorf("env %s: %w", e.Name, err)
		}
		return v, true, nil
	}
	return "", false, fmt.Errorf("env %s: only secretKeyRef and fieldRef (metadata) values are available locally", e.Name)
}

var labelField = regexp.MustCompile(`^metadata\.(labels|annotations)\['([^']+)'\]$`)

func podField(l engine.Launch, f string) (string, error) {
	switch f {
	case "metadata.name":
		return l.Pod.Name, nil
	case "metadata.namespace":
		return l.Pod.Namespace, nil
	}
	if m := labelField.FindStringSubmatch(f); m != nil {
		if m[1] == "labels" {
			return l.Pod.Labels[m[2]], nil
		}
		return l.Pod.Annotations[m[2]], nil
	}
	return "", fmt.Errorf("fieldRef %q is not available locally (only metadata name, namespace, labels, annotations)", f)
}

// expandRefs applies the kubelet's $(NAME) / $$ rules (render.Expand), so
// a Pod means the same here as on a cluster.
func expandRefs(s string, env map[string]string) string {
	return render.Expand(s, func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
}

// envKey makes a mount path into an environment variable suffix:
// /mnt/datasets/mnist → MNT_DATASETS_MNIST.
func envKey(p string) string {
	var b strings.Builder
	for _, r := range strings.Trim(p, "/") {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
