package daemon

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"
)

// sampler reads the machine's load from /proc. CPU % is the share of
// non-idle time of all cores since the previous call.
type sampler struct {
	idle, total uint64
}

func (s *sampler) cpu() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0
	}
	var idle, total uint64
	for i, f := range fields[1:] {
		n, _ := strconv.ParseUint(f, 10, 64)
		total += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	prevIdle, prevTotal := s.idle, s.total
	s.idle, s.total = idle, total
	if prevTotal == 0 || total <= prevTotal || idle < prevIdle {
		return 0 // the first call, or the counters went back
	}
	dIdle, dTotal := idle-prevIdle, total-prevTotal
	return 100 * float64(dTotal-min(dIdle, dTotal)) / float64(dTotal)
}

func (s *sampler) memory() float64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	var total, avail uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "MemTotal":
			total = n
		case "MemAvailable":
			avail = n
		}
	}
	if total == 0 || avail > total {
		return 0
	}
	return 100 * float64(total-avail) / float64(total)
}

func (s *sampler) uptime() time.Duration {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	secs, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0
	}
	return time.Duration(secs * float64(time.Second)).Round(time.Second)
}
