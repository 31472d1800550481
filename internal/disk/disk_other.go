//go:build !linux && !darwin && !freebsd && !windows

package disk

func usage(string) (Space, error) { return Space{}, ErrUnsupported }
