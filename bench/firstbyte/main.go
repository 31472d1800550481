// Command firstbyte measures dispatch to first byte: `runlet @run` of a job
// that runs `echo hi` on another device, from the start of the runlet
// process to the first byte on its standard output. The same is measured
// in process (API run request to the first frame at a viewer), to show the
// CLI process's own cost apart, and through ssh to a loopback sshd with a
// fresh connection each time and with a multiplexed one (ControlMaster) as
// the baseline.
//
//	go run ./bench/firstbyte [-runs 500] [--json]
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/bench/internal/sshd"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/viewer"
	"github.com/runlet/runlet/wire"
)

const bench = "dispatch to first byte"

// jobsYAML has the job: /bin/sh, not the default login bash, whose profile
// on this machine runs pyenv and costs seconds.
const jobsYAML = "settings:\n  entrypoint: /bin/sh\nhi:\n  script: echo hi\n"

type config struct {
	runs     int
	brokers  []string
	ssh      bool
	progress io.Writer
}

func main() {
	var cfg config
	flag.IntVar(&cfg.runs, "runs", 500, "runs per case")
	brokers := flag.String("brokers", benchkit.NATS+","+benchkit.RabbitMQ, "brokers to measure, comma-separated: nats, rabbitmq")
	flag.BoolVar(&cfg.ssh, "ssh", true, "measure the ssh baselines against a loopback sshd")
	quiet := flag.Bool("q", false, "do not print progress to standard error")
	asJSON := benchkit.JSONFlag()
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./bench/firstbyte [flags]\n\n"+
			"Time from `runlet @run hi --on target` starting to the first byte of the\n"+
			"job's output, next to `ssh host echo hi` fresh and multiplexed.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	cfg.brokers = strings.Split(*brokers, ",")
	if !*quiet {
		cfg.progress = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := run(ctx, cfg)
	if err == nil {
		err = rep.Print(os.Stdout, *asJSON)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "firstbyte:", err)
		os.Exit(1)
	}
}

func (c config) say(format string, args ...any) {
	if c.progress != nil {
		fmt.Fprintf(c.progress, "firstbyte: "+format+"\n", args...)
	}
}

var targets = map[string]time.Duration{"p50": 30 * time.Millisecond, "p99": 100 * time.Millisecond}

func run(ctx context.Context, cfg config) (*benchkit.Report, error) {
	if cfg.runs < 1 {
		return nil, errors.New("-runs must be positive")
	}
	rep := benchkit.NewReport("bench/firstbyte")
	rep.Note("job: `echo hi` with entrypoint /bin/sh; the default entrypoint, a login bash, runs this machine's profile (pyenv) and costs 1–5 s")
	rep.Note("first byte is the runner's `λ /bin/sh …` line, the job's first output; `hi` is when the job's own line arrived; exit is the process's end")
	tmp, err := os.MkdirTemp("", "runlet-bench-firstbyte-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// A home of its own, so that nothing in the user's profile or
	// configuration is read by the processes started.
	env := append(os.Environ(), "HOME="+tmp)
	if cfg.ssh {
		if err := runSSH(ctx, cfg, rep, env, tmp); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			rep.Note("ssh baseline not measured: %v", err)
		}
	}
	if len(cfg.brokers) == 0 {
		return rep, nil
	}
	cfg.say("building runlet")
	bin, err := benchkit.BuildRunlet(ctx, tmp)
	if err != nil {
		return nil, err
	}
	var help benchkit.Sample
	for range cfg.runs {
		t, err := timeProcess(exec.Command(bin, "--help"), env)
		if err != nil {
			return nil, fmt.Errorf("runlet --help: %w", err)
		}
		help = append(help, t.first)
	}
	rep.AddLatency(bench, "runlet --help (process start to first byte, no network)", help, nil)
	for _, broker := range cfg.brokers {
		if err := runBroker(ctx, cfg, broker, bin, env, rep); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			rep.Note("%s not measured: %v", broker, err)
		}
	}
	return rep, nil
}

// times are what one run measured, from its start.
type times struct{ first, hi, exit time.Duration }

type samples struct{ first, hi, exit benchkit.Sample }

func (s *samples) add(t times) {
	s.first = append(s.first, t.first)
	s.hi = append(s.hi, t.hi)
	s.exit = append(s.exit, t.exit)
}

// timeProcess runs cmd and times its first byte on standard output, the
// line "hi", and its exit.
func timeProcess(cmd *exec.Cmd, env []string) (times, error) {
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return times{}, err
	}
	var t times
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return t, err
	}
	r := bufio.NewReader(stdout)
	if _, err := r.Peek(1); err == nil {
		t.first = time.Since(start)
	}
	var out bytes.Buffer
	for {
		line, err := r.ReadString('\n')
		out.WriteString(line)
		if t.hi == 0 && strings.TrimRight(line, "\r\n") == "hi" {
			t.hi = time.Since(start)
		}
		if err != nil {
			break
		}
	}
	err = cmd.Wait()
	t.exit = time.Since(start)
	if err != nil {
		return t, fmt.Errorf("%s: %w\n%s%s", strings.Join(cmd.Args, " "), err, out.Bytes(), stderr.Bytes())
	}
	if t.first == 0 {
		return t, fmt.Errorf("%s printed nothing\n%s", strings.Join(cmd.Args, " "), stderr.Bytes())
	}
	return t, nil
}

func addProcess(rep *benchkit.Report, name string, s samples, tg map[string]time.Duration) {
	rep.AddLatency(bench, name+": first byte", s.first, tg)
	if len(s.hi) > 0 && s.hi.Quantile(0) > 0 {
		rep.AddLatency(bench, name+": `hi`", s.hi, nil)
	}
	rep.AddLatency(bench, name+": exit", s.exit, nil)
}

// runSSH measures `ssh host echo hi`, fresh and multiplexed.
func runSSH(ctx context.Context, cfg config, rep *benchkit.Report, env []string, tmp string) error {
	v, err := sshd.ClientVersion()
	if err != nil {
		return err
	}
	srv, err := sshd.Start(ctx)
	if err != nil {
		return err
	}
	defer srv.Close()
	rep.Note("ssh: %s, key authentication (ed25519) to a throwaway sshd on 127.0.0.1; the command runs in the user's bash -c with SetEnv SHLVL=1 so that ~/.bashrc (pyenv here) is skipped", v.Raw)
	cfg.say("ssh, fresh connection")
	var fresh samples
	for range cfg.runs {
		t, err := timeProcess(exec.CommandContext(ctx, "ssh", append(srv.Args(), "echo hi")...), env)
		if err != nil {
			return err
		}
		fresh.add(t)
	}
	addProcess(rep, "ssh echo hi, fresh connection", fresh, nil)

	cfg.say("ssh, multiplexed")
	mux := srv.Args("-o", "ControlMaster=auto", "-o", "ControlPath="+filepath.Join(tmp, "cm-%C"), "-o", "ControlPersist=600")
	defer func() {
		_ = exec.Command("ssh", srv.Args("-o", "ControlPath="+filepath.Join(tmp, "cm-%C"), "-O", "exit")...).Run()
	}()
	if _, err := timeProcess(exec.CommandContext(ctx, "ssh", append(mux, "echo hi")...), env); err != nil {
		return fmt.Errorf("open the master connection: %w", err)
	}
	var muxed samples
	for range cfg.runs {
		t, err := timeProcess(exec.CommandContext(ctx, "ssh", append(mux, "echo hi")...), env)
		if err != nil {
			return err
		}
		muxed.add(t)
	}
	addProcess(rep, "ssh echo hi, multiplexed (ControlMaster)", muxed, nil)
	return nil
}

func brokerName(b string) string {
	switch b {
	case benchkit.NATS:
		return "embedded NATS"
	case benchkit.RabbitMQ:
		return "RabbitMQ"
	}
	return b
}

// runBroker measures the CLI and the in-process path on one broker.
func runBroker(ctx context.Context, cfg config, broker, bin string, env []string, rep *benchkit.Report) error {
	cfg.say("%s: starting a server and the target's daemon", brokerName(broker))
	f, err := benchkit.StartFleet(ctx, broker)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Admin.PutJobs(ctx, []byte(jobsYAML), 0); err != nil {
		return fmt.Errorf("save the job set: %w", err)
	}
	d, err := f.StartDaemon(ctx, "target", daemon.Config{Parallel: 2})
	if err != nil {
		return err
	}
	defer func() { _ = d.Stop() }()
	callerHome, caller, err := f.Enroll(ctx, "caller")
	if err != nil {
		return err
	}

	name := fmt.Sprintf("runlet @run hi --on target (CLI process), %s", brokerName(broker))
	cfg.say("%s", name)
	args := []string{"--home", string(callerHome), "@run", "hi", "--on", "target"}
	if _, err := timeProcess(exec.CommandContext(ctx, bin, args...), env); err != nil { // warm-up
		return err
	}
	var cli samples
	for range cfg.runs {
		t, err := timeProcess(exec.CommandContext(ctx, bin, args...), env)
		if err != nil {
			return err
		}
		cli.add(t)
	}
	addProcess(rep, name, cli, targets)

	name = fmt.Sprintf("in process: API run → first frame at a viewer, %s", brokerName(broker))
	cfg.say("%s", name)
	inproc, err := runInProcess(ctx, cfg.runs, caller)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	rep.AddLatency(bench, name+": first frame", inproc.first, nil)
	rep.AddLatency(bench, name+": `hi`", inproc.hi, nil)
	rep.AddLatency(bench, name+": end marker", inproc.exit, nil)
	return nil
}

// runInProcess does what the CLI does, in this process with its broker
// connection open: a run request with the caller's token, then a viewer
// from the first frame.
func runInProcess(ctx context.Context, runs int, caller *home.Credentials) (samples, error) {
	b, err := benchkit.OpenBus(ctx, caller)
	if err != nil {
		return samples{}, err
	}
	defer b.Close()
	client := apiclient.FromCredentials(caller)
	var s samples
	for i := range runs + 1 {
		start := time.Now()
		run, err := client.Run(ctx, api.RunRequest{Job: "hi", On: []string{"target"}})
		if err != nil {
			return s, err
		}
		var t times
		var out []byte
		v := viewer.New(b, viewer.Config{Workspace: caller.Workspace, Execution: run.Execution, Device: "target", Logger: benchkit.Quiet})
		fctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err = v.Follow(fctx, func(f wire.Frame) error {
			if t.first == 0 {
				t.first = time.Since(start)
			}
			out = append(out, f.Data...)
			if t.hi == 0 && bytes.Contains(out, []byte("\nhi\r\n")) {
				t.hi = time.Since(start)
			}
			return nil
		})
		t.exit = time.Since(start)
		cancel()
		if err != nil {
			return s, fmt.Errorf("follow %s: %w", run.Execution, err)
		}
		if t.hi == 0 {
			return s, fmt.Errorf("execution %s did not say hi: %q", run.Execution, out)
		}
		if i > 0 { // the first is a warm-up
			s.add(t)
		}
	}
	return s, nil
}
