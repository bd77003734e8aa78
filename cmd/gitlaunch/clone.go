package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitlaunch/gitlaunch/sync/git"
)

func newCloneCmd() *cobra.Command {
	var repo, sha, ref, dest, tokenFile string
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
			if repo == "" || sha == "" || dest == "" {
				return errors.New("--repo, --sha and --dest are required")
			}
			auth := git.Auth{}
			if tokenFile != "" {
				tok, err := readSecretFile(tokenFile)
				if err != nil {
					return fmt.Errorf("token file: %w", err)
				}
				auth.Token = tok
			}
			ctx, stop := signalContext()
			defer stop()
			if err := git.Clone(ctx, repo, sha, ref, dest, auth); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "gitlaunch: checked out %s at %s\n", sha, dest)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&repo, "repo", "", "repository URL")
	f.StringVar(&sha, "sha", "", "commit to check out (40 hex digits)")
	f.StringVar(&ref, "ref", "", "ref the commit is reachable from (helps servers that refuse fetching by commit)")
	f.StringVar(&dest, "dest", "", "folder to check out into (created; must be empty)")
	f.StringVar(&tokenFile, "token-file", "", "file holding a token for private repositories")
	return cmd
}
