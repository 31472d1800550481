//go:build !windows

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// shareRabbitMQ takes the lock the tests take on the machine's RabbitMQ
// (internal/testenv), shared, so that no test restarts the broker during a
// measurement; a test that restarts it holds the lock exclusively.
func shareRabbitMQ() (release func(), err error) {
	path := filepath.Join(os.TempDir(), "runlet-test-rabbitmq.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open the RabbitMQ lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
