package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/jobspec"
)

// remoteRun holds the flags of @run that go to the server.
type remoteRun struct {
	where  string
	on     []string
	detach bool
	json   bool
	input  string // with several devices: where standard input goes (fanIn)
	// command says the arguments are a command, not a job and its
	// arguments: they came after a -- that came first. shell asks for the
	// device user's login shell instead (runlet shell).
	command, shell bool
}

// errOfflineCommand refuses @run --offline -- CMD.
var errOfflineCommand = runlet.Errorf(runlet.EINVALID, "--offline runs a job of a file (-f FILE); a command runs on the workspace's devices: drop --offline, or run the command here as it is")

func (r *remoteRun) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.where, "where", "", "where to run instead of the job's own 'where': local, all, any or custom")
	cmd.Flags().StringSliceVar(&r.on, "on", nil, "devices to run on (implies --where custom), comma-separated")
	cmd.Flags().BoolVar(&r.detach, "detach", false, "start the job and print its execution id instead of following it")
	cmd.Flags().StringVar(&r.input, "input", "", "with several devices: send standard input to all of them, or to the device named")
	cmd.Flags().BoolVar(&r.json, "json", false, "print the execution as JSON (with --detach: at once; otherwise its final records, the output going to standard error)")
}

// request turns the flags into the API's run request.
func (r *remoteRun) request(args []string, size runlet.Size) (api.RunRequest, error) {
	// The server renders the script with the job's name before Args.
	req := api.RunRequest{Where: jobspec.Where(r.where), On: r.on, Size: &size}
	switch {
	case r.shell:
		req.Shell = true
	case r.command:
		req.Command = args
	default:
		req.Job, req.Args = args[0], args[1:]
	}
	switch req.Where {
	case "", jobspec.WhereLocal, jobspec.WhereAll, jobspec.WhereAny, jobspec.WhereCustom:
	default:
		return req, runlet.Errorf(runlet.EINVALID, "--where %s: want local, all, any or custom", r.where)
	}
	if len(r.on) > 0 {
		if req.Where != "" && req.Where != jobspec.WhereCustom {
			return req, runlet.Errorf(runlet.EINVALID, "--on names devices, which goes with --where custom, not --where %s", r.where)
		}
		req.Where = jobspec.WhereCustom
	}
	return req, nil
}

// runRemote asks the server to run the job and follows its execution.
func (m *Main) runRemote(ctx context.Context, r *remoteRun, args []string) error {
	cred, client, err := m.signedIn()
	if err != nil {
		if runlet.ErrorCode(err) == runlet.EUNAUTHORIZED && !r.command && !r.shell {
			return runlet.Errorf(runlet.EUNAUTHORIZED, "%s, or run the job right here with --offline -f FILE", strings.TrimSuffix(runlet.ErrorMessage(err), "."))
		}
		return err
	}
	term := openTerminal(m.Stdin, m.Stdout)
	req, err := r.request(args, term.size())
	if err != nil {
		return err
	}
	if r.detach {
		run, err := client.Run(ctx, req)
		if err != nil {
			return err
		}
		return m.printDetached(run, r.json)
	}
	// Reach the broker first: a job started that nobody can follow is a
	// surprise.
	s, err := m.newSession(ctx, cred, client, "")
	if err != nil {
		return err
	}
	defer s.close()
	run, err := client.Run(ctx, req)
	if err != nil {
		return err
	}
	if len(run.Targets) == 0 {
		return runlet.Errorf(runlet.EINVALID, "the run went to no device (execution %s)", run.Execution)
	}
	s.exec = run.Execution
	// Asked beside following, not before it: the answer is only a warning.
	var warned sync.WaitGroup
	defer warned.Wait()
	warned.Go(func() { m.warnOffline(ctx, client, run.Targets) })
	devices := targetNames(run.Targets)
	if len(devices) == 1 && !r.json {
		rec, err := s.interactive(ctx, devices[0], joining{endInput: true})
		if err != nil {
			return err
		}
		return exitFor(rec)
	}
	// With --json the output goes to standard error, the records to
	// standard output.
	w := m.Stdout
	if r.json {
		w = m.Stderr
	}
	recs, err := s.prefixed(ctx, devices, w, r.input)
	if err != nil {
		return err
	}
	if r.json {
		if err := m.printJSON(recs); err != nil {
			return err
		}
	} else {
		m.summarize(recs)
	}
	return highestExit(recs)
}

// warnOffline says which targets wait for a device that is offline, so
// that a silent terminal is not a mystery.
func (m *Main) warnOffline(ctx context.Context, client *apiclient.Client, targets []api.Target) {
	devs, err := client.Devices(ctx)
	if err != nil {
		return
	}
	online := map[string]bool{}
	for _, d := range devs {
		online[d.Name] = d.Online
	}
	for _, t := range targets {
		if t.Status == string(runlet.StatusPending) && !online[t.Device] {
			fmt.Fprintf(m.Stderr, "runlet: %s is offline: the job waits in its queue until it comes back or the job expires (Ctrl-C stops waiting here; the job stays queued)\n", safe(t.Device))
		}
	}
}

// printDetached prints the run, then fails (notQueued) if the server
// could not queue it for some target.
func (m *Main) printDetached(run *api.RunResponse, asJSON bool) error {
	if asJSON {
		if err := m.printJSON(run); err != nil {
			return err
		}
		return m.notQueued(run)
	}
	fmt.Fprintln(m.Stdout, safe(run.Execution))
	for _, t := range run.Targets {
		fmt.Fprintf(m.Stderr, "%s: %s\n", safe(t.Device), safe(t.Status))
	}
	return m.notQueued(run)
}

// summarize prints how each target ended, on standard error so that the
// output stays the jobs'.
func (m *Main) summarize(recs []runlet.Execution) {
	for _, e := range recs {
		fmt.Fprintf(m.Stderr, "%s: %s (%s)\n", safe(e.Device), safe(string(e.Outcome())), safe(howEnded(e)))
	}
}

// howEnded says in a few words how e ended, beside its outcome: "exit 3",
// "SIGTERM" for a stop, "killed by SIGSEGV" for a crash, the reason of an
// error.
func howEnded(e runlet.Execution) string {
	switch o := e.Outcome(); {
	case (o == runlet.OutcomeStopped || o == runlet.OutcomeKilled) && e.Signal != "":
		return e.Signal
	case o == runlet.OutcomeStopped || o == runlet.OutcomeKilled:
		return "before it started"
	case e.Signal != "":
		return "killed by " + e.Signal
	case e.Status == runlet.StatusError:
		return "error: " + e.Reason
	}
	return fmt.Sprintf("exit %d", e.ExitCode)
}

// highestExit is the exit of the target that fared worst.
func highestExit(recs []runlet.Execution) error {
	code := 0
	for _, e := range recs {
		code = max(code, exitCode(e))
	}
	if code == 0 {
		return nil
	}
	return &exitError{code: code}
}

// exitCode is the process exit code exitFor gives e.
func exitCode(e runlet.Execution) int {
	err := exitFor(e)
	if err == nil {
		return 0
	}
	if x, ok := err.(*exitError); ok {
		return x.code
	}
	return 1
}

func targetNames(ts []api.Target) []string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Device
	}
	slices.Sort(names)
	return names
}
