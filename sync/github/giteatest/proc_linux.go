package giteatest

import "syscall"

// sysProcAttr ties Gitea's life to the test process: when a test binary dies
// without running its cleanups (a -timeout panic, SIGKILL), the kernel sends
// Gitea SIGTERM instead of leaving it running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
