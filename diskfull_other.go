//go:build !windows

package runlet

// osDiskFull are the system's errors for a full disk besides ENOSPC.
var osDiskFull []error
