package daemon

import (
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/templates"
)

// Setup is the admin's config with what it points to already read.
type Setup struct {
	Config *schema.Config
	// Path is where Config came from; "" for the defaults.
	Path string
	// BasePod is the Pod template every run Pod is merged onto.
	BasePod *corev1.Pod
}

// LoadSetup reads the admin's config (the defaults when path is "") and its
// base Pod template. Config problems come back as schema.Problems.
func LoadSetup(path string) (*Setup, error) {
	var cfg *schema.Config
	var err error
	if path == "" {
		cfg, err = schema.LoadConfig(schema.ConfigName, []byte("apiVersion: gitlaunch.dev/v1\nkind: Config\n"))
	} else {
		cfg, err = schema.LoadConfigFile(path)
	}
	if err != nil {
		return nil, err
	}
	data, src := templates.PodYAML, "embedded templates/pod.yaml"
	if cfg.PodTemplate != "" {
		p := cfg.Resolve(cfg.PodTemplate)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("pod template: %w", err)
		}
		data, src = b, p
	}
	base, err := templates.ParsePod(data)
	if err != nil {
		return nil, fmt.Errorf("pod template %s: %w", src, err)
	}
	return &Setup{Config: cfg, Path: path, BasePod: base}, nil
}

// ValidateWith is the config manifests are checked against: only an
// admin's real config names GPU models and datasets, the defaults do not.
func (s *Setup) ValidateWith() *schema.Config {
	if s.Path == "" {
		return nil
	}
	return s.Config
}

// RenderPod is the one place that maps an engine run to render's input.
func (s *Setup) RenderPod(job *schema.Job, r *engine.Run, secretName string) (*corev1.Pod, error) {
	return render.Pod(job, render.RunContext{
		RunID: r.ID, Repo: r.Repo, RepoURL: r.RepoURL, SHA: r.SHA, Ref: r.Ref,
		Branch: r.Branch, PR: r.PR, Trigger: string(r.Trigger), Untrusted: r.Untrusted,
		Attempt: max(r.Attempt, 1), SecretName: secretName,
	}, s.Config, s.BasePod)
}

// DefaultDataDir is where runs, logs and git caches live without a config.
const DefaultDataDir = ".gitlaunch"

// DataDir resolves the data directory: the flag, else $GITLAUNCH_DATA, else
// the config's sync.dataDir (relative to the config), else DefaultDataDir.
// The result is absolute.
func (s *Setup) DataDir(flag string, getenv func(string) string) (string, error) {
	dir := flag
	if dir == "" {
		dir = getenv("GITLAUNCH_DATA")
	}
	if dir == "" {
		dir = s.Config.Resolve(s.Config.Sync.DataDir)
	}
	if dir == "" {
		dir = DefaultDataDir
	}
	return filepath.Abs(dir)
}
