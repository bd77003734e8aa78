package render

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/templates"
)

// DefaultTimeout bounds a run when neither the job nor the config sets a
// timeout.
const DefaultTimeout = 24 * time.Hour

// RunContext is what render needs to know about one run: where the commit
// comes from and what triggered it. It mirrors the engine's run record
// without importing the engine.
type RunContext struct {
	RunID   string // lowercase alphanumerics, as sync.RunID makes them
	Repo    string // the repository's short name: /mnt/<repo>
	RepoURL string // where the clone container fetches from
	SHA     string // full commit id (40 or 64 hex digits)
	Ref     string // full ref, e.g. refs/heads/main, refs/pull/7/head
	Branch  string
	PR      int
	Trigger string // push, pull_request, schedule, comment, manual
	// Untrusted runs get no secrets and no service account token.
	Untrusted bool
	// Attempt is 1 for the first Pod of a run; retries count up.
	Attempt int
	// CloneSecret names a Secret whose key "token" the clone container
	// reads to fetch a private repository; optional.
	CloneSecret string
	// SecretName is the repository's Secret holding the keys jobs list in
	// `secrets:`. Empty (the local executor) leaves secrets to the
	// executor.
	SecretName string
}

var (
	runIDRe = regexp.MustCompile(`^[a-z0-9]{1,63}$`)
	shaRe   = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)
)

func (rc *RunContext) check() error {
	var errs []error
	if !runIDRe.MatchString(rc.RunID) {
		errs = append(errs, fmt.Errorf("run id %q: want 1 to 63 lowercase letters and digits", rc.RunID))
	}
	if rc.Repo == "" {
		errs = append(errs, errors.New("run has no repository name"))
	}
	if rc.RepoURL == "" {
		errs = append(errs, errors.New("run has no repository URL"))
	} else if u, err := url.Parse(rc.RepoURL); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			// It would be readable by anyone who can read Pods.
			errs = append(errs, errors.New("repository URL holds a password: give the token as a clone secret instead"))
		}
	}
	if !shaRe.MatchString(rc.SHA) {
		errs = append(errs, fmt.Errorf("commit %q: want a full lowercase hex commit id", rc.SHA))
	}
	return errors.Join(errs...)
}

// Pod renders the Pod for one attempt of one run of job onto base (nil:
// the embedded templates.PodYAML). cfg may be nil (no cluster config:
// defaults apply, and datasets or GPU models cannot be resolved). base is
// not modified. See the package documentation for the merge rules.
func Pod(job *schema.Job, run RunContext, cfg *schema.Config, base *corev1.Pod) (*corev1.Pod, error) {
	if job == nil {
		return nil, errors.New("render: no job")
	}
	if cfg == nil {
		cfg = &schema.Config{}
	}
	if err := run.check(); err != nil {
		return nil, fmt.Errorf("render %s: %w", job.Path, err)
	}
	if job.Name == "" {
		return nil, fmt.Errorf("render %s: job has no name", job.Path)
	}
	if run.Attempt < 1 {
		run.Attempt = 1
	}
	pod, err := basePod(base)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", job.Path, err)
	}
	r := &renderer{job: job, run: run, cfg: cfg, pod: pod, mountName: MountName(run.Repo)}
	if err := r.render(); err != nil {
		return nil, fmt.Errorf("render %s: %w", job.Path, err)
	}
	return pod, nil
}

func basePod(base *corev1.Pod) (*corev1.Pod, error) {
	if base == nil {
		p, err := templates.ParsePod(templates.PodYAML)
		if err != nil {
			return nil, fmt.Errorf("embedded template: %w", err)
		}
		return p, nil
	}
	return base.DeepCopy(), nil
}

// renderer holds one rendering in progress; its steps fill in pod.
type renderer struct {
	job       *schema.Job
	run       RunContext
	cfg       *schema.Config
	pod       *corev1.Pod
	mountName string // the /mnt/<repo> path element
}

func (r *renderer) workspace() string { return path.Join(MountRoot, r.mountName) }

func (r *renderer) render() error {
	r.meta()
	if err := r.checkReservedNames(); err != nil {
		return err
	}
	vols, err := r.volumes()
	if err != nil {
		return err
	}
	main, err := r.mainContainer(vols)
	if err != nil {
		return err
	}
	clone := r.cloneContainer(main, vols)
	spec := &r.pod.Spec
	spec.Volumes = mergeVolumes(spec.Volumes, vols.volumes)
	spec.Containers = placeContainer(spec.Containers, main, true)
	spec.InitContainers = placeContainer(spec.InitContainers, clone, false)
	spec.RestartPolicy = corev1.RestartPolicyNever
	deadline, err := r.deadline()
	if err != nil {
		return err
	}
	spec.ActiveDeadlineSeconds = &deadline
	if r.run.Untrusted {
		no := false
		spec.AutomountServiceAccountToken = &no
	}
	return r.gpuNodeSelector()
}

// checkReservedNames rejects a base whose containers would collide with
// gitlaunch's: container names are unique across init and app containers.
func (r *renderer) checkReservedNames() error {
	for _, c := range r.pod.Spec.InitContainers {
		if c.Name == ContainerJob {
			return fmt.Errorf("pod template: init container name %q is reserved for the job container", c.Name)
		}
	}
	for _, c := range r.pod.Spec.Containers {
		if c.Name == ContainerClone {
			return fmt.Errorf("pod template: container name %q is reserved for the clone init container", c.Name)
		}
	}
	for _, c := range r.pod.Spec.EphemeralContainers {
		if c.Name == ContainerJob || c.Name == ContainerClone {
			return fmt.Errorf("pod template: ephemeral container name %q is reserved", c.Name)
		}
	}
	return nil
}

// deadline is the job's timeout, else the config's, else DefaultTimeout,
// in whole seconds (rounded up).
func (r *renderer) deadline() (int64, error) {
	d := r.job.Timeout.Duration
	if d == 0 {
		d = r.cfg.Defaults.Timeout.Duration
	}
	if d == 0 {
		d = DefaultTimeout
	}
	if d < 0 {
		return 0, fmt.Errorf("timeout %s: must be positive", d)
	}
	return int64((d + time.Second - 1) / time.Second), nil
}
