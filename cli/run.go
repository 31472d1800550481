package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/jobspec"
	"github.com/runlet/runlet/runner"
)

func (m *Main) runCommand() *cobra.Command {
	var (
		file    string
		offline bool
		remote  remoteRun
	)
	cmd := &cobra.Command{
		Use:     "@run NAME [ARGS...] | @run [--on DEVICES] -- COMMAND [ARGS...]",
		Aliases: []string{"run"},
		Short:   "Run a job by name, or a command, attached to this terminal",
		Long: `@run runs the job NAME and attaches this terminal to it: its output appears
here and every key you type (arrows, F-keys, Ctrl-C) goes to the job. runlet
exits with the job's exit code.

ARGS are the job's arguments: the script is a Go template in which
{{ index .Args 1 }} is the first of them ({{ index .Args 0 }} is NAME).
Put -- before arguments that start with a dash.

The job is one of the workspace's (see 'runlet @config') and runs where it
says ('where' in the job file) unless --where or --on say otherwise:
local (this device), all, any (the least busy online device) or custom
(the devices named with --on). With one target this terminal is attached
to it (type Enter, then ~. to detach and leave the job running, as in ssh);
with several, each line of output is shown after its device's name
and runlet exits with the highest of their codes. A line left unfinished
for 300 ms (a prompt such as "Continue? [Y/n] ") is shown as it is, and
what the device prints next continues it, or starts a new line after the
name when another device printed in between. A device that is offline
runs the job when it comes back, unless the job expired meanwhile.

With several targets runlet first says, on standard error, the execution
id and how to follow one device alone ('runlet attach EXEC --device
NAME'), then where keys go. At a terminal, keys go to no device until you
pick one: at the start of a line type ~1 to ~9 for the devices in the
order listed, ~* for all of them; ~. detaches, ~~ types a ~, and Ctrl-C
while no device is picked stops following (the jobs go on). --input all
or --input DEVICE picks at the start. Standard input that is not a
terminal goes only where --input says (its end typed as Ctrl-D, as
below); without --input its content goes nowhere (runlet says so), and
the devices it does not go to read an empty input, as with ssh -n.

With one target, keys typed before the job starts (it waits in the
device's queue) are kept and reach it, in order, once it does: up to 64
KiB, and only while the device is online (the device's log says what it
dropped). When standard input is not a terminal (a pipe, a file) its
content goes to the job the same way, and its end is typed as Ctrl-D
(twice after a partial line), so that 'echo y | runlet @run hello'
answers its prompt and a job reading to the end of its input ends.

With --detach runlet starts the job and leaves it running: it prints the
execution id (with --json, the execution and each target's status) and
exits 0, or 1 when the server could not queue the job for some or all of
its devices (its disk is full, say); standard error says which and why.

With --offline and -f FILE the job runs right here, without a server.

With -- before any job name, the words after it are a command to run
instead of a job: on the devices of --on, or on this one, each word one
argument of the program, through the device's default shell (bash --login;
write sh -c '...' for pipes and variables), attached as a job is. Activity records it under its command
line ("$ uname -a"). A workspace whose job set says commands: false under
settings refuses commands. See also 'runlet shell DEVICE'.`,
		Example: `  runlet @run hello
  runlet @run disk-usage --where all
  runlet @run hello --on pi-1,pi-2
  echo y | runlet @run hello --on pi-1,pi-2 --input all
  runlet @run disk-usage --on 'pi-*'
  runlet @run disk-usage --on label:lab
  echo y | runlet @run hello
  runlet @run top --detach --json
  runlet @run --offline -f examples/jobs.yaml hello
  runlet @run --offline -f examples/jobs.yaml greet Ada
  runlet @run --on pi-1,pi-2 -- uname -a
  runlet @run --on 'pi-*' -- sh -c 'df -h / | tail -1'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// A -- before any job name starts a command (remoteRun.command).
			if remote.command = cmd.ArgsLenAtDash() == 0; remote.command && offline {
				return errOfflineCommand
			}
			if !offline {
				if file != "" {
					return runlet.Errorf(runlet.EINVALID, "-f FILE goes with --offline; without it the job is the workspace's (see 'runlet @config list')")
				}
				return m.runRemote(cmd.Context(), &remote, args)
			}
			return m.runOffline(cmd.Context(), file, args[0], args)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "job file (with --offline)")
	cmd.Flags().BoolVar(&offline, "offline", false, "run the job on this machine through the local runner, without a server")
	remote.flags(cmd)
	return cmd
}

// runOffline runs one job of a local file through a runner of its own,
// attached to the terminal.
func (m *Main) runOffline(ctx context.Context, file, name string, args []string) error {
	f, err := readJobFile(file)
	if err != nil {
		return err
	}
	job := f.Job(name)
	if job == nil {
		return runlet.Errorf(runlet.ENOTFOUND, "no job %q in %s (it has: %s)", name, file, jobNames(f))
	}
	script, err := job.Render(args)
	if err != nil {
		return runlet.Errorf(runlet.EINVALID, "%v", err)
	}
	logDir := filepath.Join(home.Dir(m.home).LogDir(), "offline")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return fmt.Errorf("create log directory: %w", err)
	}
	r, err := runner.New(runner.Config{Parallel: 1, LogDir: logDir, Logger: m.logger()})
	if err != nil {
		return err
	}
	defer r.Close()

	term := openTerminal(m.Stdin, m.Stdout)
	exec, err := r.Enqueue(runner.Spec{
		Job:          job.Name,
		Client:       "offline",
		Script:       script,
		Entrypoint:   job.Entrypoint,
		Cwd:          job.Cwd,
		ShowDuration: job.ShowDuration,
		Size:         term.size(),
	})
	if err != nil {
		return err
	}
	if err := term.makeRaw(); err != nil {
		return err
	}
	defer term.restore()
	return m.attach(ctx, term, exec)
}

// attach copies the execution's frames to the terminal and the terminal's
// keys and size to the execution until it ends.
func (m *Main) attach(ctx context.Context, term *terminal, exec *runner.Execution) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopResize := term.followSize(ctx, func(s sizeEvent) { _ = exec.Resize(s) })
	defer stopResize()
	// Keys typed before the job starts are kept until it does; the end of
	// an input that is not a terminal is typed as Ctrl-D (inputEnd), as
	// for a remote @run.
	go func() {
		var end inputEnd
		buf := make([]byte, 4096)
		for {
			n, err := m.Stdin.Read(buf)
			if n > 0 {
				_ = exec.Input(buf[:n])
				end.sent(buf[:n])
			}
			if err != nil {
				if term.in == nil && errors.Is(err, io.EOF) {
					_ = exec.Input(end.keys())
				}
				return
			}
		}
	}()
	cur := exec.Frames(1)
	for {
		fr, err := cur.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if _, err := m.Stdout.Write(fr.Data); err != nil {
			return fmt.Errorf("write to terminal: %w", err)
		}
	}
	<-exec.Done()
	return exitFor(exec.State())
}

// exitFor turns an execution's end into runlet's exit: the job's own code,
// 128+signal like a shell when it was ended by a signal, 1 for other errors.
func exitFor(e runlet.Execution) error {
	switch {
	case e.Status == runlet.StatusFinished && e.ExitCode == 0:
		return nil
	case e.ExitCode > 0:
		return &exitError{code: e.ExitCode}
	case e.Signal != "":
		return &exitError{code: 128 + signalNumber(e.Signal)}
	case e.Status == runlet.StatusError && e.Reason != "":
		return runlet.Errorf(runlet.EINTERNAL, "job %s did not complete: %s", e.Job, e.Reason)
	}
	return &exitError{code: 1}
}

func jobNames(f *jobspec.File) string {
	if len(f.Jobs) == 0 {
		return "no jobs"
	}
	names := make([]string, len(f.Jobs))
	for i, j := range f.Jobs {
		names[i] = j.Name
	}
	return strings.Join(names, ", ")
}
