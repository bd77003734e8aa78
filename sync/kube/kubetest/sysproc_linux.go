package kubetest

import "syscall"

// childSysProcAttr puts a child in its own process group and has the kernel
// kill it when the test process dies.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
