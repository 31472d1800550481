package disk

import (
	"fmt"

	"golang.org/x/sys/windows"
)

func usage(path string) (Space, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return Space{}, fmt.Errorf("disk: %s: %w", path, err)
	}
	var free, total, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(p, &free, &total, &totalFree); err != nil {
		return Space{}, fmt.Errorf("disk: free space of %s: %w", path, err)
	}
	return Space{Free: free, Total: total}, nil
}
