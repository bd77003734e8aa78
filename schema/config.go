package schema

import (
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
)

// ConfigName is the usual file name of the admin's config.
const ConfigName = "gitlaunch.yaml"

// Config is the admin's gitlaunch.yaml: the cluster the jobs run on and the
// repositories the syncer watches. Every section is optional; Load fills in
// the defaults documented in README.md.
type Config struct {
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	Kind       string `yaml:"kind" json:"kind"`

	// Executor is "local" (the embedded default) or "kube".
	Executor string `yaml:"executor,omitempty" json:"executor,omitempty"`
	// Namespace is where run Pods are created (kube executor).
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// GPUModels maps a job's resources.gpuModel to how the cluster exposes it.
	GPUModels map[string]GPUModel `yaml:"gpuModels,omitempty" json:"gpuModels,omitempty"`
	// GPUResource is the extended resource for jobs that name no model.
	GPUResource string `yaml:"gpuResource,omitempty" json:"gpuResource,omitempty"`
	// Datasets maps a dataset name to where its data lives.
	Datasets map[string]DatasetSource `yaml:"datasets,omitempty" json:"datasets,omitempty"`
	Defaults Defaults                 `yaml:"defaults,omitempty" json:"defaults,omitempty"`
	// Results is where run workspaces live (each run a subPath).
	Results ResultsVolume `yaml:"results,omitempty" json:"results,omitempty"`
	// PodTemplate names a YAML file holding a Pod used as the base of every
	// run Pod, replacing the embedded templates/pod.yaml. Relative to the
	// config file.
	PodTemplate string `yaml:"podTemplate,omitempty" json:"podTemplate,omitempty"`
	// CloneImage is the image whose `gitlaunch clone` init container
	// fetches the commit.
	CloneImage string `yaml:"cloneImage,omitempty" json:"cloneImage,omitempty"`

	Repos  []Repo        `yaml:"repos,omitempty" json:"repos,omitempty"`
	Sync   SyncSettings  `yaml:"sync,omitempty" json:"sync,omitempty"`
	GitHub GitHub        `yaml:"github,omitempty" json:"github,omitempty"`
	Kube   KubeSettings  `yaml:"kube,omitempty" json:"kube,omitempty"`
	Local  LocalSettings `yaml:"local,omitempty" json:"local,omitempty"`

	// Dir is the folder the config was loaded from (for relative paths).
	Dir string `yaml:"-" json:"-"`
}

// GPUModel describes one GPU model: a renamed device-plugin resource
// (nvidia.com/a100), or the generic resource plus a node selector
// (nvidia.com/gpu + nvidia.com/gpu.product), or both.
type GPUModel struct {
	Resource     string            `yaml:"resource,omitempty" json:"resource,omitempty"`
	NodeSelector map[string]string `yaml:"nodeSelector,omitempty" json:"nodeSelector,omitempty"`
}

// DatasetSource is where a dataset's data lives: a Kubernetes volume source
// for the kube executor, a local path for the local executor.
type DatasetSource struct {
	Volume    *corev1.VolumeSource `yaml:"volume,omitempty" json:"volume,omitempty"`
	LocalPath string               `yaml:"localPath,omitempty" json:"localPath,omitempty"`
}

// Defaults apply to jobs that do not say otherwise.
type Defaults struct {
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"` // default 24h
	MaxGPUs int      `yaml:"maxGPUs,omitempty" json:"maxGPUs,omitempty"` // 0 = no limit
	Image   string   `yaml:"image,omitempty" json:"image,omitempty"`
}

// ResultsVolume is the shared volume holding run workspaces.
type ResultsVolume struct {
	// ClaimName of a PersistentVolumeClaim (kube executor).
	ClaimName string `yaml:"claimName,omitempty" json:"claimName,omitempty"`
	// Volume, instead of ClaimName, for any other volume source.
	Volume *corev1.VolumeSource `yaml:"volume,omitempty" json:"volume,omitempty"`
	// MountPath is where the syncer itself sees the volume, to read
	// artifacts and metrics.
	MountPath string `yaml:"mountPath,omitempty" json:"mountPath,omitempty"`
}

// Repo is one repository the syncer watches.
type Repo struct {
	// URL is an http(s), ssh or file URL, or a local path.
	URL string `yaml:"url" json:"url"`
	// Name shown in reports and used as /mnt/<name>; default: the last
	// path element of the URL without ".git".
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// DefaultBranch; default: the remote's HEAD.
	DefaultBranch string `yaml:"defaultBranch,omitempty" json:"defaultBranch,omitempty"`
	// GitHub is "owner/name" when runs are reported to GitHub.
	GitHub string `yaml:"github,omitempty" json:"github,omitempty"`
	// TokenFile or SSHKeyFile hold credentials; never logged.
	TokenFile  string `yaml:"tokenFile,omitempty" json:"tokenFile,omitempty"`
	SSHKeyFile string `yaml:"sshKeyFile,omitempty" json:"sshKeyFile,omitempty"`
	// SecretName is the Kubernetes Secret (kube) whose keys jobs list in
	// `secrets:`; SecretsFile is a KEY=VALUE file (local).
	SecretName  string `yaml:"secretName,omitempty" json:"secretName,omitempty"`
	SecretsFile string `yaml:"secretsFile,omitempty" json:"secretsFile,omitempty"`
}

// SyncSettings tune the syncer.
type SyncSettings struct {
	DataDir        string   `yaml:"dataDir,omitempty" json:"dataDir,omitempty"`           // default .gitlaunch
	PollInterval   Duration `yaml:"pollInterval,omitempty" json:"pollInterval,omitempty"` // default 30s (5m with webhooks)
	MaxRuns        int      `yaml:"maxRuns,omitempty" json:"maxRuns,omitempty"`           // global concurrency; default 4
	MaxRunsPerRepo int      `yaml:"maxRunsPerRepo,omitempty" json:"maxRunsPerRepo,omitempty"`
	// MissedScheduleDeadline bounds how late a missed cron slot may still run.
	MissedScheduleDeadline Duration `yaml:"missedScheduleDeadline,omitempty" json:"missedScheduleDeadline,omitempty"`
	Listen                 string   `yaml:"listen,omitempty" json:"listen,omitempty"`
	BaseURL                string   `yaml:"baseURL,omitempty" json:"baseURL,omitempty"` // public URL of the dashboard
	// LogLimit caps each run's stored log; past it the first quarter and
	// the last three quarters are kept, with a line saying what was cut.
	LogLimit Size `yaml:"logLimit,omitempty" json:"logLimit,omitempty"` // default 64Mi
	// Retention removes the logs and workspaces of old finished runs and
	// keeps their summary (state, metrics, timings).
	Retention Retention `yaml:"retention,omitempty" json:"retention,omitempty"`
}

// Retention says when a finished run's log and workspace are removed: when
// it is older than MaxAge, or when its job has KeepPerJob newer runs. Runs
// in progress, and runs of the latest commit of an open pull request, are
// kept whatever their age.
type Retention struct {
	MaxAge     Duration `yaml:"maxAge,omitempty" json:"maxAge,omitempty"`         // default 720h
	KeepPerJob int      `yaml:"keepPerJob,omitempty" json:"keepPerJob,omitempty"` // 0 = no count limit
}

// GitHub configures reporting and webhooks.
type GitHub struct {
	BaseURL           string `yaml:"baseURL,omitempty" json:"baseURL,omitempty"` // GitHub Enterprise API URL
	TokenFile         string `yaml:"tokenFile,omitempty" json:"tokenFile,omitempty"`
	WebhookSecretFile string `yaml:"webhookSecretFile,omitempty" json:"webhookSecretFile,omitempty"`
	// CommentTemplate is a file holding the pull request comment's
	// template (Go text/template), replacing templates/comment.md.tmpl.
	CommentTemplate string `yaml:"commentTemplate,omitempty" json:"commentTemplate,omitempty"`
}

// KubeSettings configure the Kubernetes client.
type KubeSettings struct {
	Kubeconfig string  `yaml:"kubeconfig,omitempty" json:"kubeconfig,omitempty"`
	QPS        float32 `yaml:"qps,omitempty" json:"qps,omitempty"`
	Burst      int     `yaml:"burst,omitempty" json:"burst,omitempty"`
	// PodTTL is how long finished Pods stay after their logs are saved.
	PodTTL         Duration `yaml:"podTTL,omitempty" json:"podTTL,omitempty"`
	LeaderElection bool     `yaml:"leaderElection,omitempty" json:"leaderElection,omitempty"`
}

// LocalSettings configure the local executor.
type LocalSettings struct {
	// AllowUnsandboxed lets runs that get secrets start on a machine where
	// the local executor has no sandbox (no bubblewrap): every other job
	// could then read those secrets.
	AllowUnsandboxed bool `yaml:"allowUnsandboxed,omitempty" json:"allowUnsandboxed,omitempty"`
}

// Resolve makes a path from the config absolute: relative paths are
// relative to the config file's folder (Dir). "" stays "".
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || c.Dir == "" {
		return p
	}
	return filepath.Join(c.Dir, p)
}
