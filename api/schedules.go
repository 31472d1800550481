package api

import "github.com/runlet/runlet"

// Schedules is the answer of GET /schedules: the workspace's jobs that
// have a schedule, in the order of the job file, each with its next run
// and its last one (R-JOB-7).
type Schedules struct {
	Schedules []runlet.ScheduledJob `json:"schedules"`
}
