package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gitlaunch/gitlaunch/render"
	"github.com/gitlaunch/gitlaunch/schema"
	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// RenderOptions are the render command's inputs.
type RenderOptions struct {
	Path                                                     string
	SHA, Ref, ConfigPath, Output, RepoName, RepoURL, Trigger string
	SecretName                                               string
	PR                                                       int
	Untrusted                                                bool

	Out, ErrOut io.Writer
}

// NewCmdRender returns the render command; runF replaces runRender in tests.
func NewCmdRender(runF func(*RenderOptions) error) *cobra.Command {
	opts := &RenderOptions{}
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
			if opts.SHA == "" || opts.Ref == "" {
				return errors.New("--sha and --ref are required")
			}
			if opts.Output != "yaml" && opts.Output != "json" {
				return fmt.Errorf("-o must be yaml or json, not %q", opts.Output)
			}
			opts.Path = args[0]
			opts.Out, opts.ErrOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			if runF != nil {
				return runF(opts)
			}
			return runRender(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.SHA, "sha", "", "commit to run (40 hex digits)")
	f.StringVar(&opts.Ref, "ref", "", "ref the commit was seen at, e.g. refs/heads/main or refs/pull/7/head")
	f.StringVar(&opts.ConfigPath, "config", "", "admin config (gitlaunch.yaml)")
	f.StringVarP(&opts.Output, "output", "o", "yaml", "output format: yaml or json")
	f.StringVar(&opts.RepoName, "repo", "", "repository name, mounted at /mnt/<repo> (default: the folder holding .git)")
	f.StringVar(&opts.RepoURL, "repo-url", "", "URL the init container clones from (default: the local repository folder)")
	f.StringVar(&opts.Trigger, "trigger", string(engine.TriggerManual), "trigger: push, pull_request, schedule, comment or manual")
	f.IntVar(&opts.PR, "pr", 0, "pull request number")
	f.BoolVar(&opts.Untrusted, "untrusted", false, "render as an untrusted run (no secrets)")
	f.StringVar(&opts.SecretName, "secret-name", "", "Kubernetes Secret holding the keys the job lists in secrets:")
	return cmd
}

func runRender(opts *RenderOptions) error {
	setup, err := daemon.LoadSetup(opts.ConfigPath)
	if err != nil {
		printProblems(opts.ErrOut, err)
		return exitError{1}
	}
	file := opts.Path
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
	job, err := schema.LoadFile(root, files[0], setup.ValidateWith())
	if err != nil {
		printProblems(opts.ErrOut, err)
		return exitError{1}
	}
	top := repoTop(root)
	repoName, repoURL := opts.RepoName, opts.RepoURL
	if repoName == "" {
		repoName = filepath.Base(top)
	}
	if repoURL == "" {
		repoURL = top
	}
	run := &engine.Run{
		Repo: repoName, RepoURL: repoURL, JobPath: job.Path, JobName: job.Name,
		SHA: opts.SHA, Ref: opts.Ref, Branch: engine.BranchOf(opts.Ref), PR: opts.PR,
		Trigger: engine.Trigger(opts.Trigger), Untrusted: opts.Untrusted, Attempt: 1,
	}
	if n, ok := engine.PullNumber(opts.Ref); ok && opts.PR == 0 {
		run.PR = n
	}
	run.ID = engine.RunID(run.Repo, run.JobPath, run.SHA, run.Trigger, run.Ref)
	pod, err := setup.RenderPod(job, run, opts.SecretName)
	if err != nil {
		return err
	}
	var out []byte
	if opts.Output == "json" {
		out, err = render.PodJSON(pod)
	} else {
		out, err = render.PodYAML(pod)
	}
	if err != nil {
		return err
	}
	_, err = opts.Out.Write(out)
	return err
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
