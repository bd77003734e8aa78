package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitlaunch/gitlaunch/sync/console"
	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/engine"
	"github.com/gitlaunch/gitlaunch/sync/termsafe"
)

// RunOptions are the run command's inputs.
type RunOptions struct {
	dataFlags
	Repo      string
	Jobs      []string
	Ref       string
	Detach    bool
	NoLogs    bool
	Untrusted bool

	Ctx         context.Context
	Out, ErrOut io.Writer
}

// NewCmdRun returns the run command (a manual trigger); runF replaces
// runRun in tests.
func NewCmdRun(runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{}
	cmd := &cobra.Command{
		Use:   "run PATH|URL",
		Short: "Run jobs of a repository now (a manual trigger)",
		Long: `Run starts the jobs of a repository at a ref right now, whatever their triggers
say. When a 'gitlaunch sync' daemon uses the same data directory, the run is
handed to it; otherwise this command runs it itself. It follows the run, prints
its log, and exits with status 1 unless every run succeeded.`,
		Example: `  gitlaunch run . --job hello
  gitlaunch run https://example.com/team/models.git --job mnist --ref refs/heads/dev`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Repo = args[0]
			opts.Ctx, opts.Out, opts.ErrOut = cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			if runF != nil {
				return runF(opts)
			}
			return runRun(opts)
		},
	}
	opts.add(cmd)
	cmd.Flags().StringSliceVar(&opts.Jobs, "job", nil, "job names to run (repeatable; default: every job)")
	cmd.Flags().StringVar(&opts.Ref, "ref", "", "branch or full ref to run at (default: the default branch)")
	cmd.Flags().BoolVarP(&opts.Detach, "detach", "d", false, "print the run IDs and return without waiting (needs a running sync daemon)")
	cmd.Flags().BoolVar(&opts.NoLogs, "no-logs", false, "do not print the run's log")
	cmd.Flags().BoolVar(&opts.Untrusted, "untrusted", false, "run without the repository's secrets")
	return cmd
}

func runRun(opts *RunOptions) error {
	ctx, stop := signalContext(opts.Ctx)
	defer stop()
	o := opts.daemonOptions(daemon.RoleAuto)
	o.Repos, o.Console, o.NoGitHub = []string{opts.Repo}, opts.ErrOut, true
	d, err := openDaemon(ctx, opts.ErrOut, o)
	if err != nil {
		return err
	}
	defer d.Close()
	repo := d.Repos()[0]
	snap, err := repo.Source.Poll(ctx)
	if err != nil {
		return err
	}
	ref := opts.Ref
	if ref == "" {
		head := repo.DefaultBranch
		if head == "" {
			head = snap.Head
		}
		ref = "refs/heads/" + head
	} else if !strings.HasPrefix(ref, "refs/") {
		ref = "refs/heads/" + ref
	}
	sha, ok := snap.Refs[ref]
	if !ok {
		return fmt.Errorf("ref %s not found in %s", termsafe.Line(ref), repo.URL)
	}
	eng := d.Engine()
	runs, err := eng.Submit(ctx, engine.Event{
		Repo: repo.Name, Trigger: engine.TriggerManual, Ref: ref, Branch: engine.BranchOf(ref), After: sha,
		Key: fmt.Sprint(time.Now().UnixNano()), Jobs: opts.Jobs, Force: true, Untrusted: opts.Untrusted,
	})
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return fmt.Errorf("no job to run at %s@%s (jobs named: %s)", repo.Name, engine.ShortSHA(sha), strings.Join(opts.Jobs, ", "))
	}
	if opts.Detach {
		for _, r := range runs {
			fmt.Fprintln(opts.Out, r.ID)
		}
		if !d.Dispatching() {
			return nil
		}
	}
	if !d.Dispatching() {
		fmt.Fprintln(opts.ErrOut, "gitlaunch: handed to the running sync daemon")
	}
	return followRuns(ctx, opts, d, runs, !opts.NoLogs && len(runs) == 1)
}

// followRuns waits for runs to end, printing the log of a single run as it
// streams. The dispatcher steps the engine itself; otherwise the daemon
// does and this only watches the store.
func followRuns(ctx context.Context, opts *RunOptions, d *daemon.Daemon, runs []*engine.Run, logs bool) error {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	logDone := make(chan struct{})
	if logs {
		go func() {
			defer close(logDone)
			out := termsafe.NewWriter(opts.Out) // the job's output, safe for a terminal
			defer out.Flush()
			_, _ = d.Store().FollowLog(ctx, ids[0], 0, out, 100*time.Millisecond)
		}()
	} else {
		close(logDone)
	}
	var final []*engine.Run
	var err error
	if d.Dispatching() {
		final, err = d.Engine().WaitIdle(ctx, ids)
	} else {
		final, err = waitInStore(ctx, d.Store(), ids)
	}
	<-logDone
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range final {
		if r.State != engine.StateSucceeded {
			failed++
		}
		if !d.Dispatching() {
			fmt.Fprintln(opts.ErrOut, console.Line(r, time.Now()))
		}
	}
	if failed > 0 {
		return exitError{1}
	}
	return nil
}
