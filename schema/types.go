package schema

import "time"

// APIVersion is the only manifest version this build understands.
const APIVersion = "gitlaunch.dev/v1"

// Kinds of manifest.
const (
	KindJob    = "Job"
	KindConfig = "Config"
)

// ManifestName is the file name that marks a job's folder.
const ManifestName = "job.yaml"

// Job is one job.yaml, after defaults were applied by Load.
type Job struct {
	APIVersion  string            `yaml:"apiVersion" json:"apiVersion"`
	Kind        string            `yaml:"kind" json:"kind"`
	Name        string            `yaml:"name,omitempty" json:"name,omitempty"`
	Image       string            `yaml:"image" json:"image"`
	Command     string            `yaml:"command" json:"command"`
	Workdir     string            `yaml:"workdir,omitempty" json:"workdir,omitempty"`
	Resources   Resources         `yaml:"resources,omitempty" json:"resources,omitempty"`
	Env         map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	Secrets     []string          `yaml:"secrets,omitempty" json:"secrets,omitempty"`
	Datasets    []Dataset         `yaml:"datasets,omitempty" json:"datasets,omitempty"`
	On          *Triggers         `yaml:"on,omitempty" json:"on,omitempty"`
	Timeout     Duration          `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Retries     int               `yaml:"retries,omitempty" json:"retries,omitempty"`
	Results     Results           `yaml:"results,omitempty" json:"results,omitempty"`
	Concurrency Concurrency       `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`

	// Path is the manifest's slash-separated path inside the repository
	// (e.g. "mnist/job.yaml"); Dir is its folder ("mnist", or "." at the
	// root). Both are set by Load from the file name, never read from YAML.
	Path string `yaml:"-" json:"path"`
	Dir  string `yaml:"-" json:"dir"`
}

// Resources is what one run of the job asks of a node.
type Resources struct {
	GPU      int    `yaml:"gpu,omitempty" json:"gpu,omitempty"`
	GPUModel string `yaml:"gpuModel,omitempty" json:"gpuModel,omitempty"`
	CPU      string `yaml:"cpu,omitempty" json:"cpu,omitempty"`
	Memory   string `yaml:"memory,omitempty" json:"memory,omitempty"`
	SHM      string `yaml:"shm,omitempty" json:"shm,omitempty"`
}

// Dataset mounts a dataset from the config's dataset table, read-only.
type Dataset struct {
	Name string `yaml:"name" json:"name"`
	// Path is where it appears inside the run; Load defaults it to
	// /mnt/datasets/<name>.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
}

// Triggers says when the job runs. A nil *Triggers means the default: a
// push to the repository's default branch and trusted pull requests into
// it, for changes under the job's folder.
type Triggers struct {
	Push        *BranchFilter `yaml:"push,omitempty" json:"push,omitempty"`
	PullRequest *BranchFilter `yaml:"pullRequest,omitempty" json:"pullRequest,omitempty"`
	// Paths are globs ("**" crosses folders) over repository paths; a push
	// or pull request runs the job only when one of its changed paths
	// matches. Load defaults it to "<dir>/**".
	Paths    []string   `yaml:"paths,omitempty" json:"paths,omitempty"`
	Schedule []Schedule `yaml:"schedule,omitempty" json:"schedule,omitempty"`
}

// BranchFilter selects branches by glob. Empty Branches means the
// repository's default branch.
type BranchFilter struct {
	Branches []string `yaml:"branches,omitempty" json:"branches,omitempty"`
}

// Schedule is one cron rerun.
type Schedule struct {
	Cron     string `yaml:"cron" json:"cron"`
	Timezone string `yaml:"timezone,omitempty" json:"timezone,omitempty"` // IANA; default UTC
	Branch   string `yaml:"branch,omitempty" json:"branch,omitempty"`     // default: the default branch
}

// Results says what a run leaves behind for reports.
type Results struct {
	Artifacts []string `yaml:"artifacts,omitempty" json:"artifacts,omitempty"`
	Metrics   *Metrics `yaml:"metrics,omitempty" json:"metrics,omitempty"`
}

// Metrics are numbers extracted after a run.
type Metrics struct {
	// File is a flat JSON object of numbers, relative to the workdir.
	File string `yaml:"file,omitempty" json:"file,omitempty"`
	// Patterns map a metric name to a regexp with exactly one capture
	// group, applied to log lines; the last match wins.
	Patterns map[string]string `yaml:"patterns,omitempty" json:"patterns,omitempty"`
}

// Concurrency controls overlapping runs of one job.
type Concurrency struct {
	CancelSuperseded bool `yaml:"cancelSuperseded,omitempty" json:"cancelSuperseded,omitempty"`
}

// Duration is a time.Duration written as Go duration text ("6h", "90m").
type Duration struct{ time.Duration }

// MarshalText writes the duration as Go duration text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses Go duration text.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}
