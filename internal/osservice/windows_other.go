//go:build !windows

package osservice

import "github.com/runlet/runlet"

func windowsManager() (Manager, error) {
	return nil, runlet.Errorf(runlet.ENOTIMPLEMENTED, "the Windows service control manager exists only on Windows")
}
