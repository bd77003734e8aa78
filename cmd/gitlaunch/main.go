// Command gitlaunch turns git repositories holding code and job.yaml
// manifests into GPU runs, on Kubernetes or on this machine. This package
// is flags and output only: one file per command, each with an options
// struct, a NewCmdX that parses flags into it, and a runX that does the
// work through the packages (sync/daemon wires the syncer).
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/gitlaunch/gitlaunch/sync/termsafe"
)

func main() {
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		// Errors may quote what a remote or a job said.
		fmt.Fprintln(os.Stderr, "gitlaunch:", termsafe.Text(err.Error()))
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	var logLevel string
	root := &cobra.Command{
		Use:   "gitlaunch",
		Short: "Run ML jobs from git: job.yaml in, GPU runs, logs and results out",
		Long: `gitlaunch watches git repositories that hold code plus job.yaml manifests,
validates each manifest, renders a GPU Pod for each job, runs it on Kubernetes or
on this machine with the same /mnt layout, and reports results back.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl})))
			return nil
		},
	}
	root.PersistentFlags().StringVar(&logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	root.AddCommand(
		NewCmdVersion(nil),
		NewCmdValidate(nil),
		NewCmdRender(nil),
		NewCmdSync(nil),
		NewCmdRun(nil),
		NewCmdRuns(nil),
		NewCmdLogs(nil),
		NewCmdCancel(nil),
		NewCmdClone(nil),
	)
	return root
}
