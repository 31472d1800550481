package api

import (
	"time"

	"github.com/runlet/runlet"
)

// RunFilter selects runs (GET /runs); empty fields match all.
type RunFilter struct {
	Job    string
	Device string // the runs with a target on this device
	Client string // who started them: an email, a device, "scheduler"
	// Outcome: the runs with a target of this outcome (runlet.Outcomes).
	Outcome string
	// From and To: the runs started at or after From and before To.
	From, To time.Time
	Limit    int
	// Cursor is the Next of the page before: the page after it.
	Cursor string
}

// Run is one run as the API answers it (GET /runs): a start of a job with
// every target it has, its first start and last end over the targets, and
// its outcome summed up (runlet.Run.Outcome).
type Run struct {
	ID       string         `json:"id"`
	Job      string         `json:"job"`
	Client   string         `json:"client,omitempty"`
	Created  time.Time      `json:"created"`
	Started  time.Time      `json:"started,omitzero"`
	Finished time.Time      `json:"finished,omitzero"`
	Outcome  runlet.Outcome `json:"outcome"`
	Targets  []Execution    `json:"targets"`
}

// Runs is a page of runs, newest first, and the cursor of the page after
// it ("" for the last page).
type Runs struct {
	Runs []Run  `json:"runs"`
	Next string `json:"next,omitempty"`
}

// RunsOf is a page of runs as the API answers it, never with nil runs.
func RunsOf(rs []runlet.Run, next runlet.RunCursor) Runs {
	out := Runs{Runs: make([]Run, len(rs)), Next: next.String()}
	for i, r := range rs {
		out.Runs[i] = Run{
			ID: r.ID, Job: r.Job, Client: r.Client, Created: r.Created,
			Started: r.Started(), Finished: r.Finished(), Outcome: r.Outcome(), Targets: ExecutionsOf(r.Targets),
		}
	}
	return out
}
