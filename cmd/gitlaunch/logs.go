package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitlaunch/gitlaunch/sync/daemon"
	"github.com/gitlaunch/gitlaunch/sync/termsafe"
)

// LogsOptions are the logs command's inputs.
type LogsOptions struct {
	dataFlags
	Run    string
	Follow bool
	// Raw prints the log byte for byte, escape sequences and all.
	Raw bool

	Ctx         context.Context
	Out, ErrOut io.Writer
}

// NewCmdLogs returns the logs command; runF replaces runLogs in tests.
func NewCmdLogs(runF func(*LogsOptions) error) *cobra.Command {
	opts := &LogsOptions{}
	cmd := &cobra.Command{
		Use:   "logs RUN",
		Short: "Print a run's log (RUN may be a unique prefix of its ID)",
		Long: `Logs prints a run's log. Colours are kept; other terminal control sequences
(titles, clipboard writes, cursor moves), control characters and bidi overrides
a job printed are left out, and a carriage return starts a new line. --raw
prints the log exactly as stored.`,
		Example: `  gitlaunch logs 3kq7
  gitlaunch logs -f 3kq7vz
  gitlaunch logs --raw 3kq7 > run.log`,
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
	cmd.Flags().BoolVar(&opts.Raw, "raw", false, "print the log byte for byte, terminal control sequences included")
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
	out := opts.Out
	if !opts.Raw {
		safe := termsafe.NewWriter(opts.Out)
		defer safe.Flush()
		out = safe
	}
	if opts.Follow {
		_, err := st.FollowLog(ctx, r.ID, 0, out, 200*time.Millisecond)
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
	_, err = io.Copy(out, rc)
	return err
}
