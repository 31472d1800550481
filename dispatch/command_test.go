package dispatch_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/dispatch"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/jobspec"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/wire"
)

// A command runs where --on says, recorded under its command line; each
// word reaches the device quoted for its system's shell.
func TestCommandRunIsQueuedUnderItsCommandLine(t *testing.T) {
	e := newEnv(t)
	if err := e.db.CreateDevice(e.ctx, &runlet.Device{Workspace: e.ws, Name: "win", OS: "windows"}); err != nil {
		t.Fatal(err)
	}
	s := e.service(t, e.bus)
	pi, win := e.queued(t, "pi"), e.queued(t, "win")
	const name = `$ echo 'hi there' 100%`

	run, err := s.Run(e.ctx, dispatch.Request{
		Workspace: e.ws, Client: dispatch.User("ann@example.com"),
		Command: []string{"echo", "hi there", "100%"}, On: []string{"pi,win"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if run.Job != name || !slices.Equal(devicesOf(run.Targets), []string{"pi", "win"}) {
		t.Fatalf("run = %+v, want %q on pi and win", run, name)
	}
	for device, x := range e.targets(t, run.Execution) {
		if x.Job != name || x.Status != runlet.StatusPending || x.Client != "ann@example.com" {
			t.Errorf("stored target on %s: %+v, want %q Pending by ann", device, x, name)
		}
		if want := e.clock.Now().Add(jobspec.DefaultExpires); !x.Expires.Equal(want) {
			t.Errorf("target on %s expires %v, want %v, as a job that does not say", device, x.Expires, want)
		}
	}
	for device, want := range map[string]struct {
		q      <-chan wire.Dispatch
		script string
	}{
		"pi":  {pi, "echo 'hi there' 100%\n"},
		"win": {win, "@echo \"hi there\" \"100%%\"\n"},
	} {
		d := receive(t, want.q, "the dispatch on "+device+"'s queue")
		if d.Execution != run.Execution || d.Job != name || d.Script != want.script || d.Entrypoint != nil {
			t.Errorf("dispatch on %s: %+v, want %q running %q with the default entrypoint", device, d, name, want.script)
		}
	}

	// A device that asks, with no --on, runs the command itself.
	run, err = s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: dispatch.Device("pi"), Command: []string{"uptime"}})
	if err != nil {
		t.Fatal(err)
	}
	if run.Job != "$ uptime" || !slices.Equal(devicesOf(run.Targets), []string{"pi"}) {
		t.Errorf("a command of pi's = %+v, want $ uptime on pi", run)
	}
	if d := receive(t, pi, "pi's own command"); d.Script != "uptime\n" {
		t.Errorf("pi's own command runs %q, want uptime", d.Script)
	}
}

// A command line too long for a table is cut, and one with control
// characters is recorded as safe text.
func TestCommandNameIsShortAndSafe(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	long := make([]string, 100)
	for i := range long {
		long[i] = "word"
	}
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{append([]string{"echo"}, long...), "$ echo word word"},
		{[]string{"printf", "\x1b]0;pwned\x07"}, `$ printf '\x1b]0;pwned\a'`},
	} {
		run, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: dispatch.Device("pi"), Command: tc.argv})
		if err != nil {
			t.Fatal(err)
		}
		if n := len([]rune(run.Job)); n > 128 || run.Job[:len(tc.want)] != tc.want || runlet.SafeText(run.Job) != run.Job {
			t.Errorf("recorded as %q (%d characters), want safe text starting %q, at most 128", run.Job, n, tc.want)
		}
	}
}

// A command or a shell that cannot run says why, and leaves nothing behind.
func TestRefusedCommands(t *testing.T) {
	e := newEnv(t)
	if err := e.db.CreateDevice(e.ctx, &runlet.Device{Workspace: e.ws, Name: "win", OS: "windows"}); err != nil {
		t.Fatal(err)
	}
	s := e.service(t, e.bus)
	ann := dispatch.User("ann@example.com")
	for _, tc := range []struct {
		name  string
		req   dispatch.Request
		code  string
		parts []string
	}{
		{"a job and a command", dispatch.Request{Job: "hello", Command: []string{"ls"}, On: []string{"pi"}}, runlet.EINVALID, []string{"a job and a command", "only one"}},
		{"a command and a shell", dispatch.Request{Command: []string{"ls"}, Shell: true, On: []string{"pi"}}, runlet.EINVALID, []string{"a command and a shell"}},
		{"nothing to run", dispatch.Request{On: []string{"pi"}}, runlet.EINVALID, []string{"needs something to run"}},
		{"args with a command", dispatch.Request{Command: []string{"ls"}, Args: []string{"-l"}, On: []string{"pi"}}, runlet.EINVALID, []string{"go with a job"}},
		{"an empty program", dispatch.Request{Command: []string{"", "x"}, On: []string{"pi"}}, runlet.EINVALID, []string{"first word", "empty"}},
		{"a NUL byte", dispatch.Request{Command: []string{"echo", "a\x00b"}, On: []string{"pi"}}, runlet.EINVALID, []string{"Word 2", "NUL"}},
		{"too long", dispatch.Request{Command: []string{"echo", strings.Repeat("x", 65<<10)}, On: []string{"pi"}}, runlet.EINVALID, []string{"64 KiB", "job"}},
		{"no device selected by a user", dispatch.Request{Command: []string{"ls"}}, runlet.EINVALID, []string{"The command runs where it is started", "ann@example.com is not a device", "--on NAMES"}},
		{"a pattern that matches nothing", dispatch.Request{Command: []string{"ls"}, On: []string{"nas-*"}}, runlet.EINVALID, []string{"No device matches nas-*"}},
		{"a quote for Windows", dispatch.Request{Command: []string{"echo", `say "hi"`}, On: []string{"pi,win"}}, runlet.EINVALID, []string{"cannot run on win (Windows)", "double quote", "write a job"}},
		{"a shell on several devices", dispatch.Request{Shell: true, On: []string{"pi,mac"}}, runlet.EINVALID, []string{"A shell runs on one device", "2 (pi, mac)"}},
		{"a shell on an offline device", dispatch.Request{Shell: true, On: []string{"pi"}}, runlet.ECONFLICT, []string{"pi is offline", "a shell needs its device online"}},
		{"a shell with no device", dispatch.Request{Shell: true}, runlet.EINVALID, []string{"The shell runs where it is started"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Workspace, tc.req.Client = e.ws, ann
			_, err := s.Run(e.ctx, tc.req)
			wantError(t, err, tc.code, tc.parts...)
		})
	}

	// Switched off in the settings: refused as forbidden, naming the
	// setting; jobs still run.
	if _, err := e.db.PutJobs(e.ctx, e.ws, []byte("settings:\n  commands: false\n"+jobsYAML), 1); err != nil {
		t.Fatal(err)
	}
	for _, req := range []dispatch.Request{
		{Command: []string{"uname", "-a"}, On: []string{"pi"}},
		{Shell: true, On: []string{"pi"}},
	} {
		req.Workspace, req.Client = e.ws, ann
		_, err := s.Run(e.ctx, req)
		wantError(t, err, runlet.EFORBIDDEN, "commands and shells are turned off", "'commands: false' under settings")
	}
	all, err := e.db.ListExecutions(e.ctx, e.ws, store.ExecutionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 0 {
		t.Errorf("refused commands left executions: %+v", all)
	}
	if _, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: ann, Job: "hello", Args: []string{"world"}}); err != nil {
		t.Errorf("a job with commands turned off: %v", err)
	}
}

// A shell goes to one online device, recorded as such, and starts the
// user's login shell there; it does not wait long for a device that
// drops away, and settings.timeout, which a command has, does not end it.
func TestShellRunsTheLoginShell(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, e.bus)
	pi := e.queued(t, "pi")
	if _, err := e.db.PutJobs(e.ctx, e.ws, []byte("settings:\n  timeout: 10m\n"+jobsYAML), 1); err != nil {
		t.Fatal(err)
	}
	e.heartbeat(t, wire.Heartbeat{Device: "pi", Interval: time.Minute})
	testenv.Eventually(t, "pi online", patience, func() bool {
		_, on := e.intake.Presence(e.ws, "pi")
		return on
	})
	run, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: dispatch.Device("mac"), Shell: true, On: []string{"pi"}})
	if err != nil {
		t.Fatal(err)
	}
	if run.Job != dispatch.ShellName || !slices.Equal(devicesOf(run.Targets), []string{"pi"}) {
		t.Fatalf("run = %+v, want %q on pi", run, dispatch.ShellName)
	}
	d := receive(t, pi, "the shell on pi's queue")
	if d.Job != dispatch.ShellName || d.Script != "exec \"${SHELL:-/bin/sh}\" -l\n" || d.Client != "mac" {
		t.Errorf("dispatch %+v, want the login shell for mac", d)
	}
	if want := e.clock.Now().Add(time.Minute); !d.Expires.Equal(want) || d.Timeout != 0 {
		t.Errorf("the shell expires %v with timeout %v, want a minute after it was asked for (%v) and none", d.Expires, d.Timeout, want)
	}
	if _, err := s.Run(e.ctx, dispatch.Request{Workspace: e.ws, Client: dispatch.Device("mac"), Command: []string{"make"}, On: []string{"pi"}}); err != nil {
		t.Fatal(err)
	}
	if d := receive(t, pi, "the command on pi's queue"); d.Timeout != 10*time.Minute {
		t.Errorf("a command has timeout %v, want settings.timeout (10m)", d.Timeout)
	}
}
