package alert

import (
	"sync"
	"time"

	"github.com/runlet/runlet/store"
)

// MaxHeardSlack is the most a sensor's silence due time may lag behind
// its readings: a batch that would move a sensor's Due by less than
// min(MaxHeardSlack, its silence period / 100) past what this process
// last wrote for it, through the same device, leaves the mark as it is
// (issue 14, row 3: the ingest's rate must not drop more than 10 % with
// alerts on). The price is that a sensor that falls silent may be told
// silent up to that much early (30 s of the default hour), and the
// alert's Value (seconds silent) may count up to that much too many.
const MaxHeardSlack = 30 * time.Second

// heardRef is a sensor of a workspace.
type heardRef struct {
	ws     string
	sensor int64
}

// heardMark is what this process last wrote for a sensor's silence mark.
type heardMark struct {
	due    time.Time
	device string
}

// heardCache remembers the silence due times this process wrote, so that
// HeardSensors writes only the marks that moved enough (R-TEL-4).
type heardCache struct {
	mu sync.Mutex
	m  map[heardRef]heardMark
}

// filter returns the marks of hs worth writing: those whose Due moved by
// at least the slack of their period since this process last wrote
// them, moved back (the period was shortened), or whose device changed.
func (c *heardCache) filter(ws string, hs []store.SensorHeard, period func(store.SensorHeard) time.Duration) []store.SensorHeard {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := hs[:0:0]
	for _, h := range hs {
		last, ok := c.m[heardRef{ws, h.Sensor}]
		slack := min(MaxHeardSlack, period(h)/100)
		if ok && last.device == h.Device && !h.Due.Before(last.due) && h.Due.Sub(last.due) < slack {
			continue
		}
		out = append(out, h)
	}
	return out
}

// wrote records the marks hs as written.
func (c *heardCache) wrote(ws string, hs []store.SensorHeard) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[heardRef]heardMark{}
	}
	for _, h := range hs {
		c.m[heardRef{ws, h.Sensor}] = heardMark{due: h.Due, device: h.Device}
	}
}
