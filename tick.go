package runlet

import "time"

// TickState is where one tick of a job's schedule stands.
type TickState string

const (
	// TickClaimed: a scheduler took the tick and is starting its run. A
	// tick left claimed by a scheduler that stopped is taken over by the
	// next one, with the same execution ID, so that it runs once.
	TickClaimed TickState = "claimed"
	// TickStarted: the run started; Tick.Execution names it.
	TickStarted TickState = "started"
	// TickFailed: the run could not start (no device to run on, the job
	// set no longer parses…); Tick.Reason says why.
	TickFailed TickState = "failed"
	// TickSkipped: the tick was missed while no scheduler ran, and the
	// job's catchup is none.
	TickSkipped TickState = "skipped"
)

// Valid reports whether s is a known state.
func (s TickState) Valid() bool {
	switch s {
	case TickClaimed, TickStarted, TickFailed, TickSkipped:
		return true
	}
	return false
}

// Tick is one firing of a job's schedule (R-JOB-7): the instant At of the
// job's `every`, recorded once per workspace, job and instant, so that a
// run happens once a tick even when two servers both believe for a moment
// that they schedule.
type Tick struct {
	Workspace string    `json:"-"`
	Job       string    `json:"job"`
	At        time.Time `json:"at"`    // the instant the schedule named
	Every     string    `json:"every"` // the schedule as written then
	// Execution is the ID of the tick's run, chosen when the tick is
	// first claimed and kept by whoever takes it over.
	Execution string    `json:"execution,omitempty"`
	State     TickState `json:"state"`
	Reason    string    `json:"reason,omitempty"` // why it failed or was skipped
	// Holder is the scheduler that claimed it last, and Claimed when.
	Holder  string    `json:"-"`
	Claimed time.Time `json:"-"`
}

// ScheduledJob is a job with a schedule as the API shows it: when it runs
// next and how its last tick went.
type ScheduledJob struct {
	Job     string `json:"job"`
	Every   string `json:"every"`
	Catchup string `json:"catchup"` // "one" or "none"
	// Next is the first tick after now; zero when the schedule never
	// fires again.
	Next time.Time `json:"next,omitzero"`
	// Last is the latest tick, nil before the first.
	Last *Tick `json:"last,omitempty"`
	// Results counts the targets of the last tick's run by outcome
	// ({"Finished": 3, "Error": 1}); empty when it started no run.
	Results map[Outcome]int `json:"results,omitempty"`
}
