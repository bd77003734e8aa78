package schema

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// LoadFile reads and loads the manifest at rel, a slash-separated path
// inside the repository checked out at root, as LoadWithConfig does (cfg
// may be nil). The repository is not trusted: a symlink, a non-regular
// file, a path leaving root or a file over MaxManifestSize is refused
// with a Problem before anything is read. Other I/O failures (a missing
// file, say) are returned as wrapped errors, so errors.Is works on them.
func LoadFile(root, rel string, cfg *Config) (*Job, error) {
	refuse := func(msg, allowed string) (*Job, error) {
		return nil, Problems{{File: rel, Message: msg, Allowed: allowed}}
	}
	clean := path.Clean(rel)
	if rel == "" || path.IsAbs(rel) || clean == ".." || strings.HasPrefix(clean, "../") {
		return refuse("path leaves the repository", "a relative path inside the repository, such as mnist/job.yaml")
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", root, err)
	}
	defer r.Close()

	// os.Root keeps every step inside root. On top of that no step may be
	// a symlink: a repository author could point one at anything in the
	// checkout (or, on the manifest itself, at a huge or special file).
	parts := strings.Split(clean, "/")
	var fi fs.FileInfo
	for i := range parts {
		sub := strings.Join(parts[:i+1], "/")
		fi, err = r.Lstat(sub)
		if err != nil {
			return nil, fmt.Errorf("stat %s: %w", sub, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 && i < len(parts)-1 {
			return refuse(fmt.Sprintf("path goes through the symlink %s", sub), "a manifest reached without symlinks")
		}
	}
	if msg := refuseMode(fi); msg != "" {
		return refuse(msg, "a regular file")
	}
	if fi.Size() > MaxManifestSize {
		return refuse(fmt.Sprintf("file is %d bytes, too large for a manifest", fi.Size()),
			fmt.Sprintf("at most %d bytes (1 MiB)", MaxManifestSize))
	}
	f, err := r.Open(clean)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", rel, err)
	}
	defer f.Close()
	// The file may have been swapped since Lstat; check what was opened.
	if ofi, err := f.Stat(); err != nil || !os.SameFile(fi, ofi) {
		return refuse("file changed while it was being read", "a stable regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	return LoadWithConfig(clean, data, cfg)
}

// refuseMode says why a file of this mode is not read as a manifest, or "".
func refuseMode(fi fs.FileInfo) string {
	switch m := fi.Mode(); {
	case m&fs.ModeSymlink != 0:
		return "file is a symlink; manifests must be regular files"
	case m.IsDir():
		return "path is a directory, not a file"
	case !m.IsRegular():
		return fmt.Sprintf("file is not a regular file (%s)", m.Type())
	}
	return ""
}

// LoadConfigFile reads and loads the admin's config at path (see
// LoadConfig); Config.Dir is path's folder. The config is the admin's own
// file, so symlinks (as in a mounted ConfigMap) are followed.
func LoadConfigFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open config: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat config: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, Problems{{File: path, Message: "config is not a regular file", Allowed: "a YAML file"}}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	return LoadConfig(path, data)
}
