package pty

import "golang.org/x/sys/windows"

var debugFlags uint32 = windows.STARTF_USESTDHANDLES
