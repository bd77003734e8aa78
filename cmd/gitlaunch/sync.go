package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/termsafe"
)

// SyncOptions are the sync command's inputs.
type SyncOptions struct {
	dataFlags
	Repos  []string
	Once   bool
	Jobs   []string
	Listen string

	Ctx         context.Context
	Out, ErrOut io.Writer
}

// NewCmdSync returns the sync command (the daemon); runF replaces runSync
// in tests.
func NewCmdSync(runF func(*SyncOptions) error) *cobra.Command {
	opts := &SyncOptions{}
	cmd := &cobra.Command{
		Use:   "sync [REPO...]",
		Short: "Watch git repositories and run their jobs (the daemon)",
		Long: `Sync watches repositories (local paths or URLs given as arguments, and the
config's repos), plans a run for each job whose triggers match a push, a pull
request or a schedule, runs it with the configured executor (the local one by
default: on this machine, with the repository at /mnt/<repo>) and reports each
state change. Runs, logs and results are kept in the data directory.

On first sight of a repository its branch heads count as pushed, so jobs run at
once; its history never does. With --once, sync does one full pass (plan, run,
wait, report) and exits with status 1 if any run did not succeed.`,
		Example: `  gitlaunch sync --once --job hello .          # run the hello example here, once
  gitlaunch sync ~/code/mnist https://example.com/team/models.git
  gitlaunch sync --config gitlaunch.yaml --listen 127.0.0.1:8080`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Repos = args
			opts.Ctx, opts.Out, opts.ErrOut = cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			if runF != nil {
				return runF(opts)
			}
			return runSync(opts)
		},
	}
	opts.add(cmd)
	cmd.Flags().BoolVar(&opts.Once, "once", false, "one full pass: plan, run, wait, report; exit 1 if a run failed")
	cmd.Flags().StringSliceVar(&opts.Jobs, "job", nil, "only plan jobs with these names (repeatable)")
	cmd.Flags().StringVar(&opts.Listen, "listen", "", "serve webhooks, the dashboard, /metrics and /healthz on this address, e.g. 127.0.0.1:8080")
	return cmd
}

func runSync(opts *SyncOptions) error {
	ctx, stop := signalContext(opts.Ctx)
	defer stop()
	o := opts.daemonOptions(daemon.RoleDispatcher)
	o.Repos, o.OnlyJobs, o.Listen, o.Console = opts.Repos, opts.Jobs, opts.Listen, opts.Out
	d, err := openDaemon(ctx, opts.ErrOut, o)
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintf(opts.ErrOut, "gitlaunch: data in %s (runs: gitlaunch runs --data-dir %s)\n", d.DataDir(), d.DataDir())
	if addr := d.Addr(); addr != nil {
		what := "dashboard"
		if d.ServesWebhooks() {
			what = "dashboard and webhooks (POST /webhook)"
		}
		fmt.Fprintf(opts.ErrOut, "gitlaunch: %s on http://%s/\n", what, addr)
	}
	if !opts.Once {
		return d.Run(ctx)
	}
	runs, err := d.Once(ctx)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	failed := 0
	for _, r := range runs {
		if r.State != engine.StateSucceeded {
			failed++
		}
	}
	fmt.Fprintf(opts.ErrOut, "gitlaunch: %d run(s), %d not succeeded; logs: gitlaunch logs RUN --data-dir %s; results in %s/runs/RUN/workspace/\n",
		len(runs), failed, d.DataDir(), d.DataDir())
	if err != nil {
		fmt.Fprintln(opts.ErrOut, "gitlaunch:", termsafe.Text(err.Error())) // it may quote a remote
		return exitError{1}
	}
	if failed > 0 {
		return exitError{1}
	}
	return nil
}
