package local

import (
	"fmt"
	"github.com/gitlaunch/gitlaunch/render"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gitlaunch/gitlaunch/sync/engine"
	corev1 "k8s.io/api/core/v1"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// buildEnv makes the job's environment from scratch: nothing of the
// syncer's own environment (its tokens, its HOME) reaches the job. The
// layers: a base (PATH, HOME and TMPDIR in a writable folder, UTF-8, Python
// output unbuffered so logs stream), GITLAUNCH_* from the run (in case the
// Pod lacks any), then the container's env as rendered, with secretKeyRef
// values taken from l.Secrets. Only secrets the Pod references are
// injected. home is the run's private temporary folder as the job sees it.
func buildEnv(l engine.Launch, c *corev1.Container, p *plan, home string, hostPaths bool) ([]string, error) {
	env := map[string]string{
		"PATH": defaultPath, "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
		// The log is a file, so Python would buffer a whole block: metrics
		// and progress would reach the dashboard late. A job may say 0.
		"PYTHONUNBUFFERED": "1",
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
	if hostPaths {
		// Without isolation nothing is at /mnt: point at the real folders.
		env["GITLAUNCH_WORKSPACE"] = string(p.Mounts[0].Src)
		for _, m := range p.Mounts[1:] {
			env["GITLAUNCH_MOUNT_"+envKey(m.Dst)] = m.Src
		}
	}

	out := make([]string, 0, len(env))
	for k, v := range env {
		// The environment travels to the sandbox as NUL-separated options
		// (bwrapEnvArgs): a NUL would let a value add options of its own.
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("env %q: names may not be empty or hold '=' or NUL, values may not hold NUL", k)
		}
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

// bwrapEnvArgs encodes env as bwrap options read through --args: bwrap
// itself runs with the wrapper's fixed environment, and the job starts with
// exactly these variables. buildEnv keeps NUL out of names and values.
func bwrapEnvArgs(env []string) []byte {
	b := []byte("--clearenv\x00")
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		b = append(b, "--setenv\x00"...)
		b = append(b, k...)
		b = append(b, 0)
		b = append(b, v...)
		b = append(b, 0)
	}
	return b
}

var shellName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// shellExports encodes env as a script that a subshell sources right before
// it execs the job (the unshare and none modes, which have no bwrap to set
// it): the scripts that run outside the job never see these variables.
// Values are single-quoted, so nothing in them is expanded. Names sh cannot
// export (Kubernetes allows '.' and '-') are returned in skipped.
func shellExports(env []string) (script []byte, skipped []string) {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if !shellName.MatchString(k) {
			skipped = append(skipped, k)
			continue
		}
		script = fmt.Appendf(script, "export %s='%s'\n", k, strings.ReplaceAll(v, "'", `'\''`))
	}
	return script, skipped
}
