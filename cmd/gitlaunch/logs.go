package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitlaunch/gitlaunch/sync/daemon"
)

// LogsOptions are the logs command's inputs.
type LogsOptions struct {
	dataFlags
	Run    string
	Follow bool

	Ctx         context.Context
	Out, ErrOut io.Writer
}

// NewCmdLogs returns the logs command; runF replaces runLogs in tests.
func NewCmdLogs(runF func(*LogsOptions) error) *cobra.Command {
	opts := &LogsOptions{}
	cmd := &cobra.Command{
		Use:   "logs RUN",
		Short: "Print a run's log (RUN may be a unique prefix of its ID)",
		Example: `  gitlaunch logs 3kq7
  gitlaunch logs -f 3kq7vz`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Run = args[0]
			opts.Ctx, opts.Out, opts.ErrOut = cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			if runF != nil {
				return runF(opts)
			}
			return runLogs(opts)
		},
	}
	opts.add(cmd)
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new output until the run ends")
	return cmd
}

func runLogs(opts *LogsOptions) error {
	ctx, stop := signalContext(opts.Ctx)
	defer stop()
	d, err := openDaemon(ctx, opts.ErrOut, opts.daemonOptions(daemon.RoleReader))
	if err != nil {
		return err
	}
	defer d.Close()
	st := d.Store()
	r, err := st.FindRun(ctx, opts.Run)
	if err != nil {
		return err
	}
	if opts.Follow {
		_, err := st.FollowLog(ctx, r.ID, 0, opts.Out, 200*time.Millisecond)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	rc, err := st.OpenLog(ctx, r.ID, 0)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(opts.Out, rc)
	return err
}
