package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/runner"
	"github.com/runlet/runlet/wire"
)

// logsFlags are the flags of 'runlet logs'.
type logsFlags struct {
	device     string
	since      string
	follow     bool
	timestamps bool
	export     bool
	cast       string
	identity   string
	passFile   string
	// after is the last frame already shown (followed live before the
	// run ended): reading the log starts after it.
	after uint64
}

// logEncrypted is viewer.ErrLogEncrypted with the last frame the viewer
// delivered: the rest is to be read from the run's encrypted log.
type logEncrypted struct {
	after uint64
	err   error
}

func (e *logEncrypted) Error() string { return e.err.Error() }
func (e *logEncrypted) Unwrap() error { return e.err }

func (m *Main) logsCommand() *cobra.Command {
	var f logsFlags
	cmd := &cobra.Command{
		Use:   "logs EXEC [--device NAME]",
		Short: "Print the log of an execution, decrypted here",
		Long: `logs prints the output of the execution EXEC (an id from 'runlet activity')
as its device recorded it: the terminal's bytes, as the job wrote them.

Every device encrypts the log of each run to the workspace's log key as it
writes it, keeps it, and uploads it to the server when the run ends; the
server cannot read it (R-LOG-1, R-LOG-2). logs reads this device's own copy
when the run was here, else the copy it fetched before; it downloads the
server's copy when there is no local one, or when the server's differs and
is newer (R-LOG-3; 'runlet keys --help' says more). The log is decrypted
here with, in this order: the identity file given with --identity, the
passphrase of --passphrase-file, the keys saved by 'runlet keys unlock
--save', or the workspace's log passphrase (from RUNLET_LOG_PASSPHRASE, or
typed at the terminal).

A run still going is followed live to its end with --follow. --timestamps
starts every line with the time its first character was written (RFC 3339,
UTC, to the millisecond). --since starts at a time: an RFC 3339 time, or a
duration counted back from the end of the log ("10m": its last ten
minutes; for a run followed live, from now); only the segments from there
on are decrypted. --export writes the log as a standard asciicast v2 file
(for asciinema play) to standard output, --cast FILE to FILE.

An execution that ran on several devices needs --device to say which one.`,
		Example: `  runlet logs 01jd3k5m7n9p1q3r5s7t9v1w3x
  runlet logs 01jd3k5m7n9p1q3r5s7t9v1w3x --device pi-2 --timestamps --since 10m
  runlet logs 01jd3k5m7n9p1q3r5s7t9v1w3x --follow
  runlet logs 01jd3k5m7n9p1q3r5s7t9v1w3x --cast deploy.cast && asciinema play deploy.cast`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.logs(cmd.Context(), args[0], &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.device, "device", "", "the device whose log to print, when the execution ran on several")
	fl.StringVar(&f.since, "since", "", "start at this time (RFC 3339) or this long before the log's end (10m, 2h)")
	fl.BoolVarP(&f.follow, "follow", "f", false, "follow a run that is still going to its end")
	fl.BoolVarP(&f.timestamps, "timestamps", "t", false, "start each line with its time (RFC 3339, UTC)")
	fl.BoolVar(&f.export, "export", false, "write a standard asciicast v2 file to standard output")
	fl.StringVar(&f.cast, "cast", "", "write a standard asciicast v2 file to FILE")
	fl.StringVar(&f.identity, "identity", "", "decrypt with the age identities in this file")
	fl.StringVar(&f.passFile, "passphrase-file", "", "read the log passphrase from this file ('-' for standard input; env "+passphraseEnv+")")
	cmd.MarkFlagsMutuallyExclusive("export", "cast")
	cmd.MarkFlagsMutuallyExclusive("export", "timestamps")
	cmd.MarkFlagsMutuallyExclusive("cast", "timestamps")
	return cmd
}

// logs is 'runlet logs EXEC'.
func (m *Main) logs(ctx context.Context, exec string, f *logsFlags) error {
	cred, client, err := m.signedIn()
	if err != nil {
		return err
	}
	targets, err := client.Execution(ctx, exec)
	if err != nil {
		return err
	}
	device, err := m.chooseTarget(exec, targets, f.device)
	if err != nil {
		return err
	}
	var rec runlet.Execution
	for _, t := range targets {
		if t.Device == device {
			rec = t
		}
	}
	if !rec.Status.Final() {
		if f.export || f.cast != "" {
			return runlet.Errorf(runlet.ECONFLICT, "execution %s is still running on %s: export its log once it has ended (follow it with --follow)", exec, safe(device))
		}
		switch {
		case !f.follow && rec.Status == runlet.StatusPending:
			return runlet.Errorf(runlet.ECONFLICT, "execution %s has not started on %s yet: add --follow to wait for it and follow it to its end", exec, safe(device))
		case !f.follow:
			return runlet.Errorf(runlet.ECONFLICT, "execution %s is still running on %s: add --follow to follow it to its end", exec, safe(device))
		}
		err := m.followLog(ctx, cred, client, exec, device, f)
		var enc *logEncrypted
		if !errors.As(err, &enc) {
			return err
		}
		// It ended meanwhile and its device keeps only the encrypted log.
		f.after = enc.after
	}
	return m.readLog(ctx, cred, client, exec, device, f)
}

// followLog prints the output of a live execution as it comes, through the
// viewer (the one attach and @run use), until it ends. It returns
// viewer.ErrLogEncrypted when the run has ended and its device no longer
// replays it: then the encrypted log is the one to read.
func (m *Main) followLog(ctx context.Context, cred *home.Credentials, client *apiclient.Client, exec, device string, f *logsFlags) error {
	since, err := parseSince(f.since, time.Time{})
	if err != nil {
		return err
	}
	s, err := m.newSession(ctx, cred, client, exec)
	if err != nil {
		return err
	}
	defer s.close()
	p := &linePrinter{w: m.Stdout, stamps: f.timestamps, atStart: true}
	_, err = s.follow(ctx, s.viewer(device), device, func(fr wire.Frame) error {
		if !since.IsZero() && fr.Time.Before(since) {
			return nil
		}
		return p.write(fr.Time, fr.Data)
	})
	return err
}

// readLog prints a finished run's log from the copy R-LOG-3 picks.
func (m *Main) readLog(ctx context.Context, cred *home.Credentials, client *apiclient.Client, exec, device string, f *logsFlags) error {
	keys, err := client.LogKeys(ctx)
	if err != nil {
		return err
	}
	if len(keys.Keys) == 0 {
		return m.plaintextLog(cred, exec, device, f)
	}
	dir := home.Dir(m.home)
	path, err := localCastPath(dir, cred, exec, device)
	if err != nil {
		return err
	}
	st, err := m.fetchLog(ctx, client, cred, exec, device, path)
	if st.missing {
		return m.whyNoLog(ctx, client, exec, device)
	}
	// A damaged download leaves the local copy, which is read; the
	// damage is the command's error all the same.
	damaged := err
	if err != nil && !st.readable {
		return err
	}
	if st.ownCopy {
		m.awaitSealed(ctx, path)
	}
	gen := logGeneration(ctx, client, exec, device)
	ids, err := m.identities(keys.Keys, gen, f)
	if err != nil {
		return err
	}
	ids.generation = gen
	if err := m.printCast(path, exec, device, ids, f); err != nil {
		return err
	}
	return damaged
}

// localCastPath is the local copy of the log (R-LOG-3): the daemon's own
// when the run was on this home's device, else the one fetched before.
func localCastPath(dir home.Dir, cred *home.Credentials, exec, device string) (string, error) {
	if device == cred.Device {
		return dir.CastPath(exec)
	}
	return dir.FetchedCastPath(device, exec)
}

// whyNoLog is the error for a finished run of which neither copy exists.
func (m *Main) whyNoLog(ctx context.Context, client *apiclient.Client, exec, device string) error {
	logs, err := client.ExecutionLogs(ctx, exec)
	if err != nil {
		return err
	}
	var lg *api.ExecutionLog
	for i := range logs.Logs {
		if logs.Logs[i].Device == device {
			lg = &logs.Logs[i]
		}
	}
	switch {
	case lg == nil:
		return runlet.Errorf(runlet.ENOTFOUND, "the server knows no log of execution %s on %s", exec, safe(device))
	case lg.Object != nil:
		// Uploaded between the two questions.
		return runlet.Errorf(runlet.EUNAVAILABLE, "the log of execution %s on %s was just uploaded: run this again", exec, safe(device))
	case lg.Online:
		return runlet.Errorf(runlet.EUNAVAILABLE, "the log of execution %s on %s is still uploading: %s is online and sends it now; try again in a moment", exec, safe(device), safe(device))
	case !lg.LastSeen.IsZero():
		return runlet.Errorf(runlet.EUNAVAILABLE, "%s is offline since %s and has not uploaded the log of execution %s yet: it does when it comes back", safe(device), lg.LastSeen.UTC().Format("2006-01-02 15:04 UTC"), exec)
	default:
		return runlet.Errorf(runlet.EUNAVAILABLE, "%s is offline and has not uploaded the log of execution %s yet: it does when it comes back", safe(device), exec)
	}
}

// plaintextLog is 'runlet logs' in a workspace without a log key: its
// devices keep their logs unencrypted and upload none, so only a run on
// this very device can be read, from its plaintext frame log.
func (m *Main) plaintextLog(cred *home.Credentials, exec, device string, f *logsFlags) error {
	if device != cred.Device {
		return runlet.Errorf(runlet.ENOTFOUND, "this workspace has no log key yet, so its logs stay on their devices (read this one on %s): an admin runs 'runlet keys init'", safe(device))
	}
	path, err := home.Dir(m.home).LogPath(exec)
	if err != nil {
		return err
	}
	if f.export || f.cast != "" {
		return runlet.Errorf(runlet.EINVALID, "this workspace has no log key yet: an admin runs 'runlet keys init'; --export and --cast read encrypted logs only")
	}
	r, err := runner.OpenLog(path)
	if errors.Is(err, os.ErrNotExist) {
		return runlet.Errorf(runlet.ENOTFOUND, "this workspace has no log key yet (an admin runs 'runlet keys init'), and this device keeps no log of execution %s", exec)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	fmt.Fprintf(m.Stderr, "runlet: this workspace has no log key yet, so its logs are neither encrypted nor uploaded (an admin runs 'runlet keys init'); this is the plaintext log this device kept\n")
	var since time.Time
	if f.since != "" {
		if since, err = parseSince(f.since, lastFrameTime(path)); err != nil {
			return err
		}
	}
	p := &linePrinter{w: m.Stdout, stamps: f.timestamps, atStart: true}
	for {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !since.IsZero() && fr.Time.Before(since) {
			continue
		}
		if err := p.write(fr.Time, fr.Data); err != nil {
			return err
		}
	}
}

// lastFrameTime is the time of the last frame of the plaintext log at
// path, zero when it has none.
func lastFrameTime(path string) time.Time {
	r, err := runner.OpenLog(path)
	if err != nil {
		return time.Time{}
	}
	defer r.Close()
	var last time.Time
	for {
		fr, err := r.Next()
		if err != nil {
			return last
		}
		last = fr.Time
	}
}
