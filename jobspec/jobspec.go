// Package jobspec reads Runlet job files: YAML maps from a job name to its
// fields (R-JOB-1), with the reserved settings key, job arguments as Go
// templates, and `every` schedules that compute their next run (R-JOB-7).
// Every problem in a file is reported at once, each with its file, line and
// field and what is allowed there.
package jobspec

import (
	"encoding/json"
	"text/template"
	"time"
)

// Where says which devices run a job (R-JOB-2).
type Where string

const (
	WhereLocal  Where = "local"  // the device that asks (the default)
	WhereAll    Where = "all"    // every device of the workspace
	WhereAny    Where = "any"    // one online device
	WhereCustom Where = "custom" // the devices named in whereCustom
)

// Catchup says what a scheduled job does about the ticks it missed while
// no scheduler ran (R-JOB-7): the server was down, or between two leaders.
type Catchup string

const (
	// CatchupOne runs the latest missed tick once, however many were
	// missed (the default): a scheduler down for 3 hours runs an
	// every-minute job once on its return, not 180 times.
	CatchupOne Catchup = "one"
	// CatchupNone runs none of them: the job runs again at its next tick.
	CatchupNone Catchup = "none"
)

// DefaultExpires is how long a queued execution waits for an offline device
// when the job does not say.
const DefaultExpires = 24 * time.Hour

// File is a parsed job file.
type File struct {
	Name     string   `json:"file"`
	Jobs     []*Job   `json:"jobs"` // in file order
	Settings Settings `json:"settings"`
	Source   []byte   `json:"-"` // the text as given, for the server to store
	// Warnings are what is valid but probably a mistake, such as a job
	// named "script": a field that lost its indentation. A file with
	// errors has them among its errors instead.
	Warnings Errors `json:"warnings,omitempty"`
}

// Job returns the job called name, or nil.
func (f *File) Job(name string) *Job {
	for _, j := range f.Jobs {
		if j.Name == name {
			return j
		}
	}
	return nil
}

// Settings is the reserved top-level `settings:` key.
type Settings struct {
	// Entrypoint is the default entrypoint of every job; Parse has already
	// applied it to the jobs that name none.
	Entrypoint []string `json:"entrypoint,omitempty"`
	// Daemons holds per-device switches, by device name.
	Daemons map[string]DaemonSettings `json:"daemons,omitempty"`
	// Commands is settings.commands: whether the workspace runs commands
	// that are not jobs (runlet @run -- CMD, runlet shell); nil means the
	// file does not say, and they run. Read it with CommandsAllowed.
	Commands *bool `json:"commands,omitempty"`
	// Timeout is settings.timeout, the time limit of every job that sets
	// none; Parse has already applied it to those jobs. 0 means none.
	Timeout time.Duration `json:"-"`
}

// CommandsAllowed reports whether the workspace runs commands and shells:
// it does unless settings.commands is false.
func (s Settings) CommandsAllowed() bool { return s.Commands == nil || *s.Commands }

// DaemonSettings is one device's entry under settings.daemons.
type DaemonSettings struct {
	Enabled bool `json:"enabled"` // true unless the file says false
}

// DeviceEnabled reports whether the device may receive jobs: it may unless
// settings.daemons.NAME.enabled is false.
func (s Settings) DeviceEnabled(name string) bool {
	d, ok := s.Daemons[name]
	return !ok || d.Enabled
}

// Job is one job definition.
type Job struct {
	Name         string `json:"name"`
	Description  string `json:"description,omitempty"`
	ShowDuration bool   `json:"showDuration"`
	// Script is the script as written: a Go text/template. Run Render to
	// get the script to execute.
	Script      string   `json:"script"`
	Cwd         string   `json:"cwd,omitempty"`
	Where       Where    `json:"where"`
	WhereCustom []string `json:"whereCustom,omitempty"` // one device a string, commas split
	// Every is the schedule as written; Schedule is it parsed (nil when the
	// job has no schedule).
	Every    string    `json:"every,omitempty"`
	Schedule *Schedule `json:"schedule,omitempty"`
	// Catchup is what the scheduler does about missed ticks: CatchupOne
	// (the default) for a job with a schedule, "" for one without.
	Catchup Catchup `json:"catchup,omitempty"`
	// Entrypoint is the program and arguments the script file is appended
	// to. Parse has applied settings.entrypoint, so this is final; nil means
	// the platform's default (/bin/bash --login, cmd.exe /c), which the
	// runner chooses.
	Entrypoint []string `json:"entrypoint,omitempty"`
	// Expires is how long an execution queued for an offline device is
	// kept (DefaultExpires unless the file says).
	Expires time.Duration `json:"-"`
	// Timeout is how long a run may take once it has started: then the
	// device stops it (SIGTERM, SIGKILL after the grace period) and it
	// ends in Error, "timed out after 10m". 0 means no limit. Parse has
	// applied settings.timeout.
	Timeout time.Duration `json:"-"`
	Line    int           `json:"line"` // where the job starts in its file

	tmpl       *template.Template
	timeoutSet bool // the job says timeout: (none included)
}

// MarshalJSON writes Expires and Timeout as duration strings ("24h",
// "7d"); a job without a timeout has none.
func (j Job) MarshalJSON() ([]byte, error) {
	type plain Job
	v := struct {
		plain
		Expires string `json:"expires"`
		Timeout string `json:"timeout,omitempty"`
	}{plain: plain(j), Expires: formatDuration(j.Expires)}
	if j.Timeout > 0 {
		v.Timeout = formatDuration(j.Timeout)
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads what MarshalJSON writes, parsing Expires, Timeout and Every
// again; an interval schedule read this way has no anchor.
func (j *Job) UnmarshalJSON(b []byte) error {
	type plain Job
	var v struct {
		plain
		Expires string `json:"expires"`
		Timeout string `json:"timeout"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*j = Job(v.plain)
	if v.Timeout != "" {
		d, err := ParseDuration(v.Timeout)
		if err != nil {
			return err
		}
		j.Timeout = d
	}
	j.Schedule = nil // rebuilt from Every below, never from the description
	if v.Expires != "" {
		d, err := ParseDuration(v.Expires)
		if err != nil {
			return err
		}
		j.Expires = d
	}
	if j.Every != "" {
		s, err := ParseSchedule(j.Every)
		if err != nil {
			return err
		}
		j.Schedule = s
	}
	return nil
}

// Options change how ParseWith reads schedules.
type Options struct {
	// Location is where calendar schedules read wall-clock times; nil
	// means time.Local.
	Location *time.Location
	// Saved is when the file was saved: interval schedules ("15m") first
	// fire one interval after it. Zero leaves them without an anchor (see
	// Schedule.Next).
	Saved time.Time
}

// Parse reads a job file with default Options. filename is only used in
// error messages. The error, if any, is Errors.
func Parse(filename string, src []byte) (*File, error) {
	return ParseWith(filename, src, Options{})
}
