package runlet

import "syscall"

// osDiskFull are Windows' errors for a full disk: ERROR_HANDLE_DISK_FULL
// and ERROR_DISK_FULL.
var osDiskFull = []error{syscall.Errno(39), syscall.Errno(112)}
