//go:build !linux

package store

// roomFor cannot tell here: the reserve is tried every reserveRetry.
func roomFor(string, int64) bool { return false }
