package kubetest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	// KubeVersion is the Kubernetes version hack/kube-tools.sh builds; it keys
	// the default cache directory.
	KubeVersion = "v1.37.2"

	// EnvAssets names the directory holding the binaries, as envtest knows it.
	EnvAssets = "KUBEBUILDER_ASSETS"
	// EnvCache overrides the cache root (default $HOME/.cache/gitlaunch).
	EnvCache = "GITLAUNCH_CACHE"
	// EnvSkip, set to 1, turns missing binaries into skipped tests.
	EnvSkip = "GITLAUNCH_SKIP_KUBE"
)

// ErrMissingBinaries is wrapped by the error FindAssets returns when some
// binary is not there.
var ErrMissingBinaries = errors.New("kubernetes test binaries missing")

// Assets are the paths of the binaries a test control plane runs.
type Assets struct {
	Dir       string // the directory searched
	APIServer string
	Etcd      string
	Scheduler string
	Kwok      string
	Kubectl   string // from Dir, else from PATH
}

// DefaultAssetsDir is where hack/kube-tools.sh puts the binaries by default.
func DefaultAssetsDir() string {
	root := os.Getenv(EnvCache)
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		root = filepath.Join(home, ".cache", "gitlaunch")
	}
	return filepath.Join(root, "kube", KubeVersion, "bin")
}

// FindAssets locates the binaries in $KUBEBUILDER_ASSETS, or in
// DefaultAssetsDir when that is unset. The error wraps ErrMissingBinaries and
// says how to build them.
func FindAssets() (Assets, error) {
	dir := os.Getenv(EnvAssets)
	if dir == "" {
		dir = DefaultAssetsDir()
	}
	a := Assets{Dir: dir}
	var missing []string
	for _, b := range []struct {
		name string
		dst  *string
	}{
		{"kube-apiserver", &a.APIServer},
		{"etcd", &a.Etcd},
		{"kube-scheduler", &a.Scheduler},
		{"kwok", &a.Kwok},
	} {
		p := filepath.Join(dir, b.name)
		if !isExecutable(p) {
			missing = append(missing, b.name)
			continue
		}
		*b.dst = p
	}
	if p := filepath.Join(dir, "kubectl"); isExecutable(p) {
		a.Kubectl = p
	} else if p, err := exec.LookPath("kubectl"); err == nil {
		a.Kubectl = p
	} else {
		missing = append(missing, "kubectl")
	}
	if len(missing) > 0 {
		return a, fmt.Errorf("%w: %s not found in %s (%s=%q); build them with hack/kube-tools.sh, or set %s=1 to skip these tests",
			ErrMissingBinaries, strings.Join(missing, ", "), dir, EnvAssets, os.Getenv(EnvAssets), EnvSkip)
	}
	return a, nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// skipRequested reports whether missing binaries should skip tests.
func skipRequested() bool {
	v := os.Getenv(EnvSkip)
	return v == "1" || strings.EqualFold(v, "true")
}
