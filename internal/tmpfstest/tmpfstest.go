// Package tmpfstest mounts small tmpfs file systems for tests of a full
// disk: a real file system that runs out of room, not a simulated error.
package tmpfstest

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Mount mounts a tmpfs of size bytes on a new temporary folder, unmounted
// when the test ends, and returns the folder. It skips the test where
// mounting is not allowed (not root, no mount permission in a container).
func Mount(t testing.TB, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0755", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		// Lazy: a process the test started may still hold a file open.
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("unmount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}
