package main

import (
	"context"
	"errors"

	gitsrc "github.com/gitlaunch/gitlaunch/sync/git"
)

// cloneCommit is replaced by sync/git's Clone once it lands.
func cloneCommit(ctx context.Context, url, sha, ref, dest string, auth gitsrc.Auth) error {
	return errors.New("clone is not available in this build yet")
}
