package gateway

import (
	"sync"
	"time"

	"github.com/runlet/runlet/telemetry/sensormsg"
)

// Stats is what the gateway has done since it started, and its spool now:
// GET /v1/stats, and the heartbeat.
type Stats struct {
	// Accepted counts the readings kept in the spool; Refused the
	// messages refused, by reason.
	Accepted uint64                      `json:"accepted"`
	Refused  map[sensormsg.Reason]uint64 `json:"refused"`
	// Pending and PendingBytes are what the spool holds unconfirmed;
	// Dropped the readings it dropped, oldest first, for lack of room
	// (Full says it is dropping now).
	Pending      uint64 `json:"pending"`
	PendingBytes uint64 `json:"pendingBytes"`
	Dropped      uint64 `json:"dropped"`
	Full         bool   `json:"full"`
	// SentBatches, SentReadings and SentBytes count what the broker
	// confirmed.
	SentBatches  uint64 `json:"sentBatches"`
	SentReadings uint64 `json:"sentReadings"`
	SentBytes    uint64 `json:"sentBytes"`
	// LastError is the latest failure to keep or send readings, and
	// LastErrorTime when it happened; empty when there was none.
	LastError     string    `json:"lastError,omitempty"`
	LastErrorTime time.Time `json:"lastErrorTime,omitzero"`
}

// refusalLogEvery bounds the log of refusals: one line per reason per
// period, with the count so far.
const refusalLogEvery = 10 * time.Second

// dropLogEvery bounds the log of a full spool.
const dropLogEvery = 10 * time.Second

// counters are the gateway's Stats, safe for concurrent use.
type counters struct {
	mu        sync.Mutex
	s         Stats
	refLogged map[sensormsg.Reason]time.Time
	dropSeen  uint64
	dropLog   time.Time
}

func (c *counters) init() {
	c.s.Refused = make(map[sensormsg.Reason]uint64, len(sensormsg.Reasons))
	for _, r := range sensormsg.Reasons {
		c.s.Refused[r] = 0 // shown as 0, not absent
	}
	c.refLogged = map[sensormsg.Reason]time.Time{}
}

func (c *counters) accepted(n int) {
	c.mu.Lock()
	c.s.Accepted += uint64(n)
	c.mu.Unlock()
}

// refused counts one refusal and says whether to log it.
func (c *counters) refused(r sensormsg.Reason, now time.Time) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s.Refused[r]++
	if last, ok := c.refLogged[r]; ok && now.Sub(last) < refusalLogEvery {
		return c.s.Refused[r], false
	}
	c.refLogged[r] = now
	return c.s.Refused[r], true
}

// dropped notes the spool's count of dropped readings and says how many
// are new, and whether to log them now.
func (c *counters) dropped(total uint64, now time.Time) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if total <= c.dropSeen {
		return 0, false
	}
	n := total - c.dropSeen
	if !c.dropLog.IsZero() && now.Sub(c.dropLog) < dropLogEvery {
		return n, false
	}
	c.dropSeen, c.dropLog = total, now
	return n, true
}

func (c *counters) sent(readings, bytes int) {
	c.mu.Lock()
	c.s.SentBatches++
	c.s.SentReadings += uint64(readings)
	c.s.SentBytes += uint64(bytes)
	c.mu.Unlock()
}

func (c *counters) failed(err error) {
	c.mu.Lock()
	c.s.LastError = err.Error()
	c.s.LastErrorTime = time.Now().UTC() // the wall clock: for the person reading it
	c.mu.Unlock()
}

// Stats returns the counters and the spool's state now.
func (g *Gateway) Stats() Stats {
	g.stats.mu.Lock()
	s := g.stats.s
	s.Refused = make(map[sensormsg.Reason]uint64, len(g.stats.s.Refused))
	for k, v := range g.stats.s.Refused {
		s.Refused[k] = v
	}
	g.stats.mu.Unlock()
	sp := g.cfg.Spool.Stats()
	s.Pending, s.PendingBytes, s.Dropped, s.Full = uint64(sp.Pending), uint64(sp.PendingBytes), uint64(sp.Dropped), sp.Full
	return s
}
