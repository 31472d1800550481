package dispatch

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/jobspec"
)

// A command is a run of what someone typed instead of a job of the job set
// ('runlet @run -- uname -a', Salt's cmd.run); a shell is a command whose
// program is the device user's login shell ('runlet shell pi-1'). Each runs
// as a job made for it: its name is the command line, it runs where --on
// says (or on the device that asks), and its script runs the words through
// the device's default shell, each word quoted so that it arrives as one
// argument. Through a shell rather than as the program itself: the command
// gets the PATH and profile a job gets (a daemon started as a service has a
// bare PATH), builtins such as 'command -v' and 'ulimit' work, and the
// runner, the daemon and the wire stay as they are, so that a device on an
// older runlet runs commands too. settings.commands: false refuses both.

const (
	// commandPrefix starts the name a command is recorded under, as a
	// prompt does: job names are [A-Za-z0-9._-], so "$ uptime" is never a
	// job's, and activity tells a job from a command typed ad hoc.
	commandPrefix = "$ "
	// ShellName is the name a shell is recorded under; the parentheses
	// keep it apart from any command line, in which they would be quoted.
	ShellName = commandPrefix + "(login shell)"
	// maxCommandName bounds a command's recorded name, in characters, as
	// job names are bounded; a longer command line is cut, with "…".
	maxCommandName = 128
	// maxCommand bounds a command's words, in bytes: a longer one is a
	// script, which belongs in a job.
	maxCommand = 64 << 10
	// shellExpires is how long a shell waits in the queue of a device that
	// went offline after it was checked: one started later would wait for
	// a person who has gone.
	shellExpires = time.Minute
)

// checkWhat refuses a request that does not say what to run, or says it
// more than once.
func checkWhat(req Request) error {
	var what []string
	if req.Job != "" {
		what = append(what, "a job")
	}
	if len(req.Command) > 0 {
		what = append(what, "a command")
	}
	if req.Shell {
		what = append(what, "a shell")
	}
	switch {
	case len(what) == 0:
		return runlet.Errorf(runlet.EINVALID, "A run needs something to run: the name of a job, a command or a shell.")
	case len(what) > 1:
		return runlet.Errorf(runlet.EINVALID, "A run is of a job, a command or a shell, and this one asks for %s: give only one.", strings.Join(what, " and "))
	case req.Job == "" && len(req.Args) > 0:
		return runlet.Errorf(runlet.EINVALID, "Arguments (args) go with a job: a command's arguments are the rest of its words.")
	}
	return nil
}

// command makes the job a command or a shell runs as, resolves its targets
// and returns the script of each target, quoted for its system.
func (s *Service) command(ctx context.Context, req Request, set jobspec.Settings) (*jobspec.Job, []string, func(device string) string, error) {
	if !set.CommandsAllowed() {
		return nil, nil, nil, runlet.Errorf(runlet.EFORBIDDEN, "This workspace runs only its jobs: commands and shells are turned off by 'commands: false' under settings in its job set (see 'runlet @config').")
	}
	job := &jobspec.Job{Name: ShellName, Expires: shellExpires}
	if !req.Shell {
		if err := checkCommand(req.Command); err != nil {
			return nil, nil, nil, err
		}
		// As a job that says neither expires nor timeout. A shell has no
		// timeout: it would end a person's session in the middle.
		job = &jobspec.Job{Name: commandName(req.Command), Expires: jobspec.DefaultExpires, Timeout: set.Timeout}
	}
	targets, err := s.resolveTargets(ctx, req, job, set)
	if err != nil {
		return nil, nil, nil, err
	}
	if req.Shell {
		if err := s.checkShellTarget(req, targets); err != nil {
			return nil, nil, nil, err
		}
	}
	devices, err := s.db.ListDevices(ctx, req.Workspace)
	if err != nil {
		return nil, nil, nil, err
	}
	system := map[string]string{}
	for _, d := range devices {
		if !d.Revoked {
			system[d.Name] = d.OS
		}
	}
	scripts := make(map[string]string, len(targets))
	for _, t := range targets {
		if req.Shell {
			scripts[t] = shellScript(system[t])
			continue
		}
		if scripts[t], err = commandScript(req.Command, system[t]); err != nil {
			return nil, nil, nil, runlet.Errorf(runlet.EINVALID, "The command cannot run on %s (Windows): %v; write a job for it instead.", t, err)
		}
	}
	return job, targets, func(device string) string { return scripts[device] }, nil
}

// checkCommand refuses words that cannot be a command.
func checkCommand(argv []string) error {
	if argv[0] == "" {
		return runlet.Errorf(runlet.EINVALID, "A command's first word is the program to run, and it is empty.")
	}
	n := 0
	for i, w := range argv {
		n += len(w)
		if strings.IndexByte(w, 0) >= 0 {
			return runlet.Errorf(runlet.EINVALID, "Word %d of the command holds a NUL byte, which no program can receive.", i+1)
		}
	}
	if n > maxCommand {
		return runlet.Errorf(runlet.EINVALID, "The command is %d bytes long: keep it under %d KiB, or make it a job (see 'runlet @config').", n, maxCommand>>10)
	}
	return nil
}

// checkShellTarget makes sure a shell goes to one device, online now: a
// shell waits for its person, who will not wait for a device that is away.
func (s *Service) checkShellTarget(req Request, targets []string) error {
	if len(targets) != 1 {
		names := targets
		if len(names) > 5 {
			names = append(names[:5:5], "…")
		}
		return runlet.Errorf(runlet.EINVALID, "A shell runs on one device, and this one would go to %d (%s): name one.", len(targets), strings.Join(names, ", "))
	}
	if _, online := s.cfg.Workspaces.Presence(req.Workspace, targets[0]); !online {
		return runlet.Errorf(runlet.ECONFLICT, "%s is offline: a shell needs its device online. Try again once it is (see 'runlet devices').", targets[0])
	}
	return nil
}

// commandName is the name a command is recorded under: its words as a
// POSIX shell would read them, on one line of safe text, cut to
// maxCommandName characters.
func commandName(argv []string) string {
	name := commandPrefix + runlet.SafeText(shellLine(argv))
	if utf8.RuneCountInString(name) <= maxCommandName {
		return name
	}
	r := []rune(name)
	return string(r[:maxCommandName-1]) + "…"
}

// commandScript is the script that runs argv on a device of the system
// goos (runtime.GOOS as the device reported it; "" for unknown, read as
// Unix).
func commandScript(argv []string, goos string) (string, error) {
	if goos != "windows" {
		return shellLine(argv) + "\n", nil
	}
	line, err := cmdLine(argv)
	if err != nil {
		return "", err
	}
	return "@" + line + "\n", nil // @: cmd.exe does not echo the line
}

// shellScript is the script that starts the device user's login shell.
// bash, the default entrypoint, sets SHELL from the user's entry in the
// password database when the daemon's environment lacks it.
func shellScript(goos string) string {
	if goos == "windows" {
		return "@\"%ComSpec%\"\n"
	}
	return "exec \"${SHELL:-/bin/sh}\" -l\n"
}

// shellLine quotes each word for a POSIX shell (bash, dash, zsh) and joins
// them: a word of plain characters as it is, any other in single quotes.
func shellLine(argv []string) string {
	out := make([]string, len(argv))
	for i, w := range argv {
		// '=' in the first word would make it an assignment, not the
		// program.
		if w != "" && plain(w, posixPlain) && (i > 0 || !strings.Contains(w, "=")) {
			out[i] = w
			continue
		}
		out[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// cmdLine quotes each word for a line of a batch file that cmd.exe runs and
// joins them: a plain word as it is, any other in double quotes, in which
// cmd.exe takes & | < > ^ ( ) as text, with % doubled (a batch file expands
// %NAME% even in quotes) and backslashes before the closing quote doubled,
// as programs split their command line (CommandLineToArgvW). A double
// quote or a line break in a word cannot be passed on: cmd.exe and the
// program would split the line differently.
func cmdLine(argv []string) (string, error) {
	out := make([]string, len(argv))
	for i, w := range argv {
		switch {
		case w != "" && plain(w, cmdPlain):
			out[i] = w
		case strings.ContainsAny(w, "\"\r\n"):
			return "", fmt.Errorf("word %d holds a double quote or a line break, which cmd.exe cannot pass on as it is", i+1)
		default:
			w = strings.ReplaceAll(w, "%", "%%")
			w += strings.Repeat(`\`, len(w)-len(strings.TrimRight(w, `\`)))
			out[i] = `"` + w + `"`
		}
	}
	return strings.Join(out, " "), nil
}

// The characters a word may hold and still need no quotes.
const (
	posixPlain = "_-./:@%+,="
	cmdPlain   = `_-./:@+\`
)

func plain(w, punct string) bool {
	for _, c := range w {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && !strings.ContainsRune(punct, c) {
			return false
		}
	}
	return true
}
