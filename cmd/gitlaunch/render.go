package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/templates"
)

func newRenderCmd() *cobra.Command {
	var (
		sha, ref, configPath, output, repoName, repoURL, trigger, secretName string
		pr                                                                   int
		untrusted                                                            bool
	)
	cmd := &cobra.Command{
		Use:   "render PATH --sha SHA --ref REF",
		Short: "Print the Pod a job.yaml becomes for one commit",
		Long: `Render prints the Kubernetes Pod that gitlaunch would create for the job in
PATH (a job.yaml or its folder) at commit SHA seen at REF. Nothing is sent
anywhere. With --config, the admin's GPU models, datasets, results volume and
base Pod template are applied.`,
		Example: `  gitlaunch render examples/hello --sha 0123456789abcdef0123456789abcdef01234567 --ref refs/heads/main
  gitlaunch render examples/mnist/job.yaml --sha $(git rev-parse HEAD) --ref refs/heads/main \
      --config deploy/gitlaunch.yaml -o json | kubectl apply --dry-run=server -f -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sha == "" || ref == "" {
				return errors.New("--sha and --ref are required")
			}
			if output != "yaml" && output != "json" {
				return fmt.Errorf("-o must be yaml or json, not %q", output)
			}
			cfg, base, err := loadClusterConfig(configPath)
			if err != nil {
				printProblems(cmd.ErrOrStderr(), err)
				return exitError{1}
			}
			file := args[0]
			if fi, err := os.Stat(file); err == nil && fi.IsDir() {
				file = filepath.Join(file, schema.ManifestName)
			}
			cwd, err := os.Getwd()
			if err != nil {
				return err
			}
			files, root, err := findManifests(cwd, file)
			if err != nil {
				return err
			}
			job, err := schema.LoadFile(root, files[0], validationConfig(cfg, configPath))
			if err != nil {
				printProblems(cmd.ErrOrStderr(), err)
				return exitError{1}
			}
			top := repoTop(root)
			if repoName == "" {
				repoName = filepath.Base(top)
			}
			if repoURL == "" {
				repoURL = top
			}
			run := &engine.Run{
				Repo: repoName, RepoURL: repoURL, JobPath: job.Path, JobName: job.Name,
				SHA: sha, Ref: ref, Branch: engine.BranchOf(ref), PR: pr,
				Trigger: engine.Trigger(trigger), Untrusted: untrusted, Attempt: 1,
			}
			if n, ok := engine.PullNumber(ref); ok && pr == 0 {
				run.PR = n
			}
			run.ID = engine.RunID(run.Repo, run.JobPath, run.SHA, run.Trigger, run.Ref)
			pod, err := renderPod(job, run, cfg, base, secretName)
			if err != nil {
				return err
			}
			var out []byte
			if output == "json" {
				out, err = render.PodJSON(pod)
			} else {
				out, err = render.PodYAML(pod)
			}
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&sha, "sha", "", "commit to run (40 hex digits)")
	f.StringVar(&ref, "ref", "", "ref the commit was seen at, e.g. refs/heads/main or refs/pull/7/head")
	f.StringVar(&configPath, "config", "", "admin config (gitlaunch.yaml)")
	f.StringVarP(&output, "output", "o", "yaml", "output format: yaml or json")
	f.StringVar(&repoName, "repo", "", "repository name, mounted at /mnt/<repo> (default: the folder holding .git)")
	f.StringVar(&repoURL, "repo-url", "", "URL the init container clones from (default: the local repository folder)")
	f.StringVar(&trigger, "trigger", string(engine.TriggerManual), "trigger: push, pull_request, schedule, comment or manual")
	f.IntVar(&pr, "pr", 0, "pull request number")
	f.BoolVar(&untrusted, "untrusted", false, "render as an untrusted run (no secrets)")
	f.StringVar(&secretName, "secret-name", "", "Kubernetes Secret holding the keys the job lists in secrets:")
	return cmd
}

// loadClusterConfig reads the admin's config (defaults when path is "") and
// its base Pod template.
func loadClusterConfig(path string) (*schema.Config, *corev1.Pod, error) {
	var cfg *schema.Config
	if path == "" {
		c, err := schema.LoadConfig(schema.ConfigName, []byte("apiVersion: gitlaunch.dev/v1\nkind: Config\n"))
		if err != nil {
			return nil, nil, err
		}
		cfg = c
	} else {
		c, err := schema.LoadConfigFile(path)
		if err != nil {
			return nil, nil, err
		}
		cfg = c
	}
	data := templates.PodYAML
	src := "embedded templates/pod.yaml"
	if cfg.PodTemplate != "" {
		p := cfg.Resolve(cfg.PodTemplate)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("pod template: %w", err)
		}
		data, src = b, p
	}
	base, err := templates.ParsePod(data)
	if err != nil {
		return nil, nil, fmt.Errorf("pod template %s: %w", src, err)
	}
	return cfg, base, nil
}

// validationConfig returns cfg only when the admin gave one: GPU models and
// datasets are checked against a real config, not the defaults.
func validationConfig(cfg *schema.Config, path string) *schema.Config {
	if path == "" {
		return nil
	}
	return cfg
}

// renderPod is the one place that maps an engine run to render's input.
func renderPod(job *schema.Job, r *engine.Run, cfg *schema.Config, base *corev1.Pod, secretName string) (*corev1.Pod, error) {
	return render.Pod(job, render.RunContext{
		RunID: r.ID, Repo: r.Repo, RepoURL: r.RepoURL, SHA: r.SHA, Ref: r.Ref,
		Branch: r.Branch, PR: r.PR, Trigger: string(r.Trigger), Untrusted: r.Untrusted,
		Attempt: max(r.Attempt, 1), SecretName: secretName,
	}, cfg, base)
}

// repoTop is the folder holding .git at or above dir, or dir itself.
func repoTop(dir string) string {
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir
		}
		d = parent
	}
}
