package store

import "syscall"

// roomFor reports whether the file system holding dir has n bytes free
// for an unprivileged writer; true when it cannot tell.
func roomFor(dir string, n int64) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return true
	}
	return int64(st.Bavail)*int64(st.Bsize) >= n
}
