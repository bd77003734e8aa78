// Command gitlaunch turns git repositories holding code and job.yaml
// manifests into GPU runs, on Kubernetes or on this machine. This package
// is wiring only: each subcommand parses flags and calls the packages that
// do the work.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set by the linker: -ldflags "-X main.version=v1.2.3 -X main.commit=abc".
var (
	version = "dev"
	commit  = "unknown"
)

// exitError carries a process exit code through cobra without printing
// anything more (the command already said what was wrong).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "gitlaunch:", err)
		os.Exit(1)
	}
}

type globalFlags struct {
	logLevel string
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
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
			if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl})))
			return nil
		},
	}
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	root.AddCommand(
		newVersionCmd(),
		newValidateCmd(),
		newRenderCmd(),
	)
	addRuntimeCommands(root)
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and commit of this build",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "gitlaunch %s (commit %s)\n", version, buildCommit())
			return err
		},
	}
}

// buildCommit is the commit set by the linker, else the one the Go
// toolchain stamped (builds with VCS information), else "unknown".
func buildCommit() string {
	if commit != "unknown" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if dirty {
				rev += "-dirty"
			}
			return rev
		}
	}
	return commit
}
