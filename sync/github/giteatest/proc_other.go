//go:build !linux

package giteatest

import "syscall"

// sysProcAttr has no parent-death signal outside Linux; Cleanup stops Gitea.
func sysProcAttr() *syscall.SysProcAttr { return nil }
