package runlet

import "strings"

// Outcome is how an execution stands or ended, as people read it. It is
// the Status, except that a run a person (or the system) stopped or killed
// is Stopped or Killed rather than Error: the store keeps only the four
// statuses of R-JOB-8, and the outcome is read from them, once, here.
//
// An execution is Stopped or Killed when it ended in Error, a stop or a
// kill was asked for it (Killed), and the device's runner says in Reason
// that the request ended it (ReasonStopped, ReasonKilled and their "before
// it started" forms). The request decides, not the signal: a stop whose
// job outlived the grace period ends by SIGKILL and is still Stopped. An
// execution that was asked to stop but ended otherwise (it expired in the
// queue, the daemon restarted, it could not be recorded) stays Error.
type Outcome string

const (
	OutcomePending  Outcome = "Pending"
	OutcomeRunning  Outcome = "Running"
	OutcomeFinished Outcome = "Finished"
	OutcomeError    Outcome = "Error"
	OutcomeStopped  Outcome = "Stopped" // a stop ended it: SIGTERM, SIGKILL after the grace
	OutcomeKilled   Outcome = "Killed"  // a kill ended it: SIGKILL at once
)

// The reasons a runner gives a run it ended because a stop or a kill was
// asked for; the signal follows in parentheses: "stopped on request
// (SIGTERM)".
const (
	ReasonStopped            = "stopped on request"
	ReasonKilled             = "killed on request"
	ReasonStoppedBeforeStart = "stopped before it started"
	ReasonKilledBeforeStart  = "killed before it started"
)

// Outcomes are every outcome, in the order a person meets them.
var Outcomes = []Outcome{OutcomePending, OutcomeRunning, OutcomeFinished, OutcomeError, OutcomeStopped, OutcomeKilled}

// Valid reports whether o is one of the six outcomes.
func (o Outcome) Valid() bool {
	switch o {
	case OutcomePending, OutcomeRunning, OutcomeFinished, OutcomeError, OutcomeStopped, OutcomeKilled:
		return true
	}
	return false
}

// RequestReasons returns the beginnings of the reasons a runner gives a
// run that a request ended with outcome o (Stopped or Killed; none for
// the others): an execution in Error that was asked to stop (Killed) and
// whose Reason starts with one of them has outcome o. Outcome reads them,
// and so does the store when it selects runs by outcome, so that the rule
// has one owner.
func RequestReasons(o Outcome) []string {
	switch o {
	case OutcomeKilled:
		return []string{ReasonKilled, ReasonKilledBeforeStart}
	case OutcomeStopped:
		return []string{ReasonStopped, ReasonStoppedBeforeStart}
	}
	return nil
}

// Outcome is how e stands or ended (see the type).
func (e Execution) Outcome() Outcome {
	if e.Status != StatusError || !e.Killed {
		return Outcome(e.Status)
	}
	for _, o := range []Outcome{OutcomeKilled, OutcomeStopped} {
		for _, r := range RequestReasons(o) {
			if strings.HasPrefix(e.Reason, r) {
				return o
			}
		}
	}
	return OutcomeError
}
