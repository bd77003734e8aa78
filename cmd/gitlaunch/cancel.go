package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/engine"
)

// CancelOptions are the cancel command's inputs.
type CancelOptions struct {
	dataFlags
	Run    string
	Reason string

	Ctx         context.Context
	Out, ErrOut io.Writer
}

// NewCmdCancel returns the cancel command; runF replaces runCancel in tests.
func NewCmdCancel(runF func(*CancelOptions) error) *cobra.Command {
	opts := &CancelOptions{}
	cmd := &cobra.Command{
		Use:     "cancel RUN",
		Short:   "Cancel a run (RUN may be a unique prefix of its ID)",
		Example: `  gitlaunch cancel 3kq7`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Run = args[0]
			opts.Ctx, opts.Out, opts.ErrOut = cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			if runF != nil {
				return runF(opts)
			}
			return runCancel(opts)
		},
	}
	opts.add(cmd)
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why (shown in reports)")
	return cmd
}

func runCancel(opts *CancelOptions) error {
	ctx := opts.Ctx
	o := opts.daemonOptions(daemon.RoleAuto)
	o.NoGitHub = true
	d, err := openDaemon(ctx, opts.ErrOut, o)
	if err != nil {
		return err
	}
	defer d.Close()
	r, err := d.Store().FindRun(ctx, opts.Run)
	if err != nil {
		return err
	}
	if r.State.Terminal() {
		return fmt.Errorf("run %s already ended: %s", r.ID, r.State)
	}
	reason := opts.Reason
	if reason == "" {
		reason = "cancelled by " + currentUser()
	}
	if d.Dispatching() {
		// No daemon: this process dispatches, re-adopts what is still
		// running, and stops the run itself.
		eng := d.Engine()
		if err := eng.Recover(ctx); err != nil {
			return err
		}
		if err := eng.Cancel(ctx, r.ID, reason); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		final, err := eng.WaitIdle(wctx, []string{r.ID})
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.Out, "%s %s\n", final[0].State, r.ID)
		return nil
	}
	if err := d.Store().RequestCancel(ctx, engine.CancelRequest{RunID: r.ID, Reason: reason, By: currentUser()}); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	final, err := waitInStore(wctx, d.Store(), []string{r.ID})
	if err != nil {
		return fmt.Errorf("cancel requested, but the sync daemon has not confirmed it yet: %w", err)
	}
	fmt.Fprintf(opts.Out, "%s %s\n", final[0].State, r.ID)
	return nil
}
