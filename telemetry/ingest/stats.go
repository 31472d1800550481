package ingest

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Reason names what became of readings or messages: stored, or refused
// and why. Stats counts each per workspace.
type Reason int

// The reasons. Those of a whole message (BadKey, BadBatch, UnknownDevice)
// count messages; the others count readings.
const (
	// Accepted: authenticated and committed (stored or duplicate).
	Accepted Reason = iota
	// Stored: archived, not there before.
	Stored
	// Duplicate: authenticated and committed, but archived already (a
	// redelivery or a replay): stored nothing new.
	Duplicate
	// TimeReplaced: accepted with an implausible sensor time, stored at
	// the time the device accepted it (runlet.ReadingTime).
	TimeReplaced
	// BadKey: a message whose key is not a telemetry key.
	BadKey
	// BadBatch: a message that is not a telemetry batch.
	BadBatch
	// UnknownDevice: a message of a device that is not (or no longer) in
	// the workspace.
	UnknownDevice
	// UnknownSensor: a reading of a sensor registered nowhere.
	UnknownSensor
	// BadSecret: a reading whose sensor's secret is wrong or missing.
	BadSecret
	// OtherWorkspace: a reading of a sensor of another workspace.
	OtherWorkspace
	// Inactive: a reading of an inactive sensor.
	Inactive

	numReasons
)

var reasonNames = [numReasons]string{
	"accepted", "stored", "duplicate", "time_replaced", "bad_key", "bad_batch",
	"unknown_device", "unknown_sensor", "bad_secret", "other_workspace", "inactive",
}

func (r Reason) String() string {
	if r < 0 || r >= numReasons {
		return "unknown"
	}
	return reasonNames[r]
}

// refusal reports whether r is a reason to refuse.
func (r Reason) refusal() bool { return r >= BadKey }

// Stats is what one workspace's pipeline did since the server started.
// BadKey, BadBatch and UnknownDevice count messages, the others readings.
// A message redelivered after a failed commit is counted once, when it is
// acked.
type Stats struct {
	Accepted       int64 `json:"accepted"`
	Stored         int64 `json:"stored"`
	Duplicate      int64 `json:"duplicate"`
	TimeReplaced   int64 `json:"timeReplaced"`
	BadKey         int64 `json:"badKey"`
	BadBatch       int64 `json:"badBatch"`
	UnknownDevice  int64 `json:"unknownDevice"`
	UnknownSensor  int64 `json:"unknownSensor"`
	BadSecret      int64 `json:"badSecret"`
	OtherWorkspace int64 `json:"otherWorkspace"`
	Inactive       int64 `json:"inactive"`
}

// Refused is the sum of the refusals.
func (s Stats) Refused() int64 {
	return s.BadKey + s.BadBatch + s.UnknownDevice + s.UnknownSensor + s.BadSecret + s.OtherWorkspace + s.Inactive
}

// Stats returns the counts of workspace ws.
func (s *Service) Stats(ws string) Stats {
	s.stats.mu.Lock()
	c := s.stats.ws[ws]
	s.stats.mu.Unlock()
	var v [numReasons]int64
	if c != nil {
		for i := range v {
			v[i] = c.n[i].Load()
		}
	}
	return Stats{
		Accepted: v[Accepted], Stored: v[Stored], Duplicate: v[Duplicate], TimeReplaced: v[TimeReplaced],
		BadKey: v[BadKey], BadBatch: v[BadBatch], UnknownDevice: v[UnknownDevice],
		UnknownSensor: v[UnknownSensor], BadSecret: v[BadSecret], OtherWorkspace: v[OtherWorkspace],
		Inactive: v[Inactive],
	}
}

// warnEvery bounds the refusal warnings: one per workspace and reason in
// this time, with how many were refused since the last one.
const warnEvery = 10 * time.Second

// counters holds the counts of every workspace.
type counters struct {
	log *slog.Logger
	now func() time.Time // when warnings were last logged: time.Now
	mu  sync.Mutex
	ws  map[string]*wsCounters
}

type wsCounters struct {
	n [numReasons]atomic.Int64

	mu         sync.Mutex
	lastWarn   [numReasons]time.Time
	suppressed [numReasons]int64
}

func newCounters(log *slog.Logger) *counters {
	return &counters{log: log, now: time.Now, ws: map[string]*wsCounters{}}
}

func (c *counters) get(ws string) *wsCounters {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.ws[ws]
	if w == nil {
		w = &wsCounters{}
		c.ws[ws] = w
	}
	return w
}

// tally is the counts of one delivery or transaction, added at once.
type tally [numReasons]int64

// add counts t for ws, and warns of refusals at most once per warnEvery
// and reason, with how many were refused since the previous warning;
// detail says what the last of them was.
func (c *counters) add(ws string, t *tally, detail ...any) {
	w := c.get(ws)
	for r, n := range t {
		if n == 0 {
			continue
		}
		w.n[r].Add(n)
		if Reason(r).refusal() {
			c.warn(ws, w, Reason(r), n, detail)
		}
	}
}

func (c *counters) warn(ws string, w *wsCounters, r Reason, n int64, detail []any) {
	now := c.now()
	w.mu.Lock()
	w.suppressed[r] += n
	if now.Sub(w.lastWarn[r]) < warnEvery {
		w.mu.Unlock()
		return
	}
	count := w.suppressed[r]
	w.suppressed[r] = 0
	w.lastWarn[r] = now
	w.mu.Unlock()
	args := append([]any{"workspace", ws, "reason", r.String(), "refused", count}, detail...)
	c.log.Warn("telemetry refused", args...)
}
