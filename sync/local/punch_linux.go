package local

import (
	"os"
	"syscall"
)

// Linux fallocate modes that syscall does not name.
const (
	fallocKeepSize  = 0x1
	fallocPunchHole = 0x2
)

// punchHole frees the disk blocks of f's bytes [off, off+n) and keeps the
// file's size: reading them gives zeros, and a writer appending to the
// file (the job) is not disturbed. ext4, xfs, btrfs and tmpfs support it.
func punchHole(f *os.File, off, n int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		ferr = syscall.Fallocate(int(fd), fallocPunchHole|fallocKeepSize, off, n)
	}); err != nil {
		return err
	}
	if ferr != nil {
		return &os.PathError{Op: "punch hole", Path: f.Name(), Err: ferr}
	}
	return nil
}

// freeSpace is how many bytes an unprivileged writer may still write on
// the file system holding path.
func freeSpace(path string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
