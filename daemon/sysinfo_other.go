//go:build !linux

package daemon

import (
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/mem"
)

// sampler reads the machine's load through gopsutil (pure Go on macOS and
// Windows). CPU % is the share of busy time of all cores since the
// previous call; any figure the system does not give is 0.
type sampler struct{}

func (s *sampler) cpu() float64 {
	// Interval 0 compares with the previous call of the process.
	p, err := cpu.Percent(0, false)
	if err != nil || len(p) == 0 {
		return 0
	}
	return p[0]
}

func (s *sampler) memory() float64 {
	m, err := mem.VirtualMemory()
	if err != nil {
		return 0
	}
	return m.UsedPercent
}

func (s *sampler) uptime() time.Duration {
	u, err := host.Uptime()
	if err != nil {
		return 0
	}
	return time.Duration(u) * time.Second
}
