//go:build !windows

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/runlet/runlet/bench/internal/benchkit"
)

// beamRSS is the resident memory of the RabbitMQ broker (the Erlang VM,
// beam.smp) on this machine, 0 when none runs or it cannot be read.
func beamRSS() int64 {
	dirs, _ := filepath.Glob("/proc/[0-9]*/comm")
	var total int64
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil || strings.TrimSpace(string(b)) != "beam.smp" {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		if err != nil {
			continue
		}
		if rss, err := benchkit.RSS(pid); err == nil {
			total += rss
		}
	}
	return total
}
