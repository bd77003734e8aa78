package giteatest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Version is the Gitea release hack/gitea.sh builds and these helpers expect.
const Version = "v1.26.0"

// Environment variables that steer where the binary comes from.
const (
	// EnvBinary names the gitea binary to run, overriding the cache path.
	EnvBinary = "GITLAUNCH_GITEA"
	// EnvSkip set to "1" turns a missing binary into a skipped test
	// instead of a failure (for quick local runs without the 10-minute build).
	EnvSkip = "GITLAUNCH_SKIP_GITEA"
	// EnvCache is the cache root hack/gitea.sh builds under.
	EnvCache = "GITLAUNCH_CACHE"
)

// BuildCommand is what a developer runs, from the repository root, to get the binary.
const BuildCommand = "bash hack/gitea.sh"

// errNoBinary marks a binary that is not there, as opposed to one that is broken.
var errNoBinary = errors.New("gitea binary not found")

// BinaryPath returns the gitea binary to run: $GITLAUNCH_GITEA when set,
// otherwise the path hack/gitea.sh builds to,
// ${GITLAUNCH_CACHE:-$HOME/.cache/gitlaunch}/gitea/<Version>/gitea.
// The error wraps errNoBinary when the file is missing.
func BinaryPath() (string, error) {
	path := os.Getenv(EnvBinary)
	if path == "" {
		root := os.Getenv(EnvCache)
		if root == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("locate gitea cache: %w", err)
			}
			root = filepath.Join(home, ".cache", "gitlaunch")
		}
		path = filepath.Join(root, "gitea", Version, "gitea")
	}
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%w at %s", errNoBinary, path)
	case err != nil:
		return "", fmt.Errorf("stat gitea binary: %w", err)
	case info.IsDir() || info.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("gitea binary %s is not an executable file", path)
	}
	return path, nil
}
