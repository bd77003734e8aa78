package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitlaunch/gitlaunch/sync/git"
)

// CloneOptions are the clone command's inputs.
type CloneOptions struct {
	Repo, SHA, Ref, Dest, TokenFile string

	Ctx    context.Context
	ErrOut io.Writer
}

// NewCmdClone returns the clone command (the init step of every run Pod);
// runF replaces runClone in tests.
func NewCmdClone(runF func(*CloneOptions) error) *cobra.Command {
	opts := &CloneOptions{}
	cmd := &cobra.Command{
		Use:   "clone --repo URL --sha SHA --dest DIR",
		Short: "Fetch exactly one commit into a folder (the init step of a run Pod)",
		Long: `Clone fetches one commit (shallow where the server allows) into DIR and
verifies that what was checked out is exactly SHA. It is the init container
of every run Pod; errors (authentication, missing commit, disk full) become
the run's reason.`,
		Example: `  gitlaunch clone --repo https://github.com/acme/models.git --sha 0123abcd... \
      --ref refs/heads/main --dest /mnt/models --token-file /var/run/gitlaunch/git/token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Repo == "" || opts.SHA == "" || opts.Dest == "" {
				return errors.New("--repo, --sha and --dest are required")
			}
			opts.Ctx, opts.ErrOut = cmd.Context(), cmd.ErrOrStderr()
			if runF != nil {
				return runF(opts)
			}
			return runClone(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Repo, "repo", "", "repository URL")
	f.StringVar(&opts.SHA, "sha", "", "commit to check out (40 hex digits)")
	f.StringVar(&opts.Ref, "ref", "", "ref the commit is reachable from (helps servers that refuse fetching by commit)")
	f.StringVar(&opts.Dest, "dest", "", "folder to check out into (created; must be empty)")
	f.StringVar(&opts.TokenFile, "token-file", "", "file holding a token for private repositories")
	return cmd
}

func runClone(opts *CloneOptions) error {
	auth := git.Auth{}
	if opts.TokenFile != "" {
		b, err := os.ReadFile(opts.TokenFile)
		if err != nil {
			return fmt.Errorf("token file: %w", err)
		}
		auth.Token = strings.TrimSpace(string(b))
	}
	ctx, stop := signalContext(opts.Ctx)
	defer stop()
	if err := git.Clone(ctx, opts.Repo, opts.SHA, opts.Ref, opts.Dest, auth); err != nil {
		return err
	}
	fmt.Fprintf(opts.ErrOut, "gitlaunch: checked out %s at %s\n", opts.SHA, opts.Dest)
	return nil
}
