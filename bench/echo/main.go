// Command echo measures keystroke echo: a viewer types one key into a
// cat-like job on a device and times until that key comes back in the
// output. It runs a real server on embedded NATS and on the machine's
// RabbitMQ with daemons in this process, types through the CLI's path (a
// viewer on the bus, as `runlet @attach` does) and the browser's (the
// server's terminal WebSocket), and the same job through `ssh -tt` to a
// loopback sshd as the baseline, and prints one table.
//
//	go run ./bench/echo [-keys 10000] [-sessions 100] [--json]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/bench/internal/sshd"
	"github.com/runlet/runlet/daemon"
)

const bench = "keystroke echo"

// catJob is the job's name in the fleet's job set.
const catJob = "cat"

// jobsYAML is the fleet's job set: /bin/sh, not the default login bash,
// whose profile here runs pyenv.
var jobsYAML = fmt.Sprintf("settings:\n  entrypoint: /bin/sh\n%s:\n  script: %s\n", catJob, catScript)

// config is what the flags choose.
type config struct {
	keys        int     // keys typed back to back by the single session
	sessions    int     // concurrent sessions
	sessionKeys int     // keys each concurrent session types
	rate        float64 // keys per second per concurrent session
	daemons     int     // devices the concurrent sessions' jobs spread over
	brokers     []string
	ssh         bool
	websocket   bool
	progress    io.Writer // one line per case as it starts; nil for none
}

func main() {
	cfg := config{}
	flag.IntVar(&cfg.keys, "keys", 10000, "keys the single session types, each as soon as the previous one echoed")
	flag.IntVar(&cfg.sessions, "sessions", 100, "concurrent sessions, each its own execution (0 skips the case)")
	flag.IntVar(&cfg.sessionKeys, "session-keys", 100, "keys each concurrent session types")
	flag.Float64Var(&cfg.rate, "rate", 10, "keys per second each concurrent session types")
	flag.IntVar(&cfg.daemons, "daemons", 4, "daemons (devices) the concurrent sessions' executions spread over")
	brokers := flag.String("brokers", benchkit.NATS+","+benchkit.RabbitMQ, "brokers to measure, comma-separated: nats, rabbitmq")
	flag.BoolVar(&cfg.ssh, "ssh", true, "measure the ssh -tt baseline against a loopback sshd")
	flag.BoolVar(&cfg.websocket, "websocket", true, "measure the browser's path through the server's terminal WebSocket")
	quiet := flag.Bool("q", false, "do not print progress to standard error")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (server, brokers, daemons, viewers) to this file")
	asJSON := benchkit.JSONFlag()
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./bench/echo [flags]\n\n"+
			"Keystroke echo latency through Runlet (CLI and browser paths, embedded NATS\n"+
			"and RabbitMQ) and through ssh -tt to a loopback sshd.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	cfg.brokers = strings.Split(*brokers, ",")
	if !*quiet {
		cfg.progress = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "echo:", err)
			os.Exit(1)
		}
		defer stopProfile()
	}
	rep, err := run(ctx, cfg)
	if err == nil {
		err = rep.Print(os.Stdout, *asJSON)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

// startCPUProfile profiles this process into file until the returned
// function is called.
func startCPUProfile(file string) (func(), error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("start the CPU profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// run measures every case cfg asks for. A broker or sshd that cannot run
// here becomes a note, not an error.
func run(ctx context.Context, cfg config) (*benchkit.Report, error) {
	if cfg.keys < 1 || cfg.sessions < 0 || cfg.sessionKeys < 1 || cfg.rate <= 0 || cfg.daemons < 1 {
		return nil, errors.New("-keys, -session-keys, -rate and -daemons must be positive, -sessions not negative")
	}
	rep := benchkit.NewReport("bench/echo")
	rep.Note("job: entrypoint /bin/sh, script %q: the terminal is raw and cat echoes each key, as a shell's line editor does; a key's latency is from just before it is sent to its echo's arrival", catScript)
	rep.Note("1 session types each key as soon as the previous one echoed; %d sessions each type %d keys at %g keys/s from random phases without waiting for echoes, each session its own execution, spread over %d daemons", cfg.sessions, cfg.sessionKeys, cfg.rate, cfg.daemons)
	sshP50 := map[int]time.Duration{}
	if cfg.ssh {
		if err := runSSH(ctx, cfg, rep, sshP50); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			rep.Note("ssh baseline not measured: %v", err)
		}
	}
	for _, broker := range cfg.brokers {
		if err := runBroker(ctx, cfg, broker, rep, sshP50); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			rep.Note("%s not measured: %v", brokerName(broker), err)
		}
	}
	return rep, nil
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

// interval is the time between two keys of a concurrent session.
func (c config) interval() time.Duration { return time.Duration(float64(time.Second) / c.rate) }

// shape is one concurrency a path is measured at.
type shape struct {
	sessions, keys int
	interval       time.Duration
	name           string
}

func (c config) shapes() []shape {
	s := []shape{{sessions: 1, keys: c.keys, name: "1 session"}}
	if c.sessions > 0 {
		s = append(s, shape{sessions: c.sessions, keys: c.sessionKeys, interval: c.interval(),
			name: fmt.Sprintf("%d sessions × %g keys/s", c.sessions, c.rate)})
	}
	return s
}

func (c config) say(format string, args ...any) {
	if c.progress != nil {
		fmt.Fprintf(c.progress, "echo: "+format+"\n", args...)
	}
}

// runSSH measures the baseline.
func runSSH(ctx context.Context, cfg config, rep *benchkit.Report, p50 map[int]time.Duration) error {
	v, err := sshd.ClientVersion()
	if err != nil {
		return err
	}
	srv, err := sshd.Start(ctx)
	if err != nil {
		return err
	}
	defer srv.Close()
	type variant struct {
		name    string
		opts    []string
		compare bool // the p50 Runlet is held to
	}
	variants := []variant{{name: "ssh -tt (" + v.Raw + ")", compare: true}}
	if v.AtLeast(9, 5) {
		variants = []variant{
			{name: "ssh -tt -o ObscureKeystrokeTiming=no (" + v.Raw + ")", opts: []string{"-o", "ObscureKeystrokeTiming=no"}, compare: true},
			{name: "ssh -tt, default ObscureKeystrokeTiming (" + v.Raw + ")"},
		}
	} else {
		rep.Note("ssh: the client is %s, older than 9.5, which has no ObscureKeystrokeTiming (it pads keystrokes to 20 ms from 9.5): one ssh variant only", v.Raw)
	}
	rep.Note("ssh: key authentication to a throwaway sshd on 127.0.0.1, the job run by the user's bash -c with SetEnv SHLVL=1 so that ~/.bashrc (pyenv here) is skipped; keys go to ssh's standard input (a pipe), echoes come from its standard output")
	for _, va := range variants {
		for _, sh := range cfg.shapes() {
			name := va.name + ", " + sh.name
			cfg.say("%s", name)
			t, err := runSessions(ctx, sh, func(_ int, e *echoes) (session, error) {
				return openSSHSession(srv, va.opts, e)
			})
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			addTyping(rep, name, t, nil)
			if va.compare {
				p50[sh.sessions] = t.lat.Quantile(0.5)
			}
		}
	}
	return nil
}

// runBroker measures the CLI and browser paths on one broker.
func runBroker(ctx context.Context, cfg config, broker string, rep *benchkit.Report, sshP50 map[int]time.Duration) error {
	cfg.say("%s: starting a server and %d daemons", brokerName(broker), cfg.daemons)
	f, err := benchkit.StartFleet(ctx, broker)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Admin.PutJobs(ctx, []byte(jobsYAML), 0); err != nil {
		return fmt.Errorf("save the job set: %w", err)
	}
	parallel := (max(cfg.sessions, 1)+cfg.daemons-1)/cfg.daemons + 1
	devices := make([]string, cfg.daemons)
	for i := range devices {
		devices[i] = fmt.Sprintf("dev-%d", i+1)
		d, err := f.StartDaemon(ctx, devices[i], daemon.Config{Parallel: parallel})
		if err != nil {
			return err
		}
		defer func() { _ = d.Stop() }()
	}
	// The typing side is a device of its own, as a person's laptop is.
	_, laptop, err := f.Enroll(ctx, "laptop")
	if err != nil {
		return err
	}
	targets := map[string]time.Duration{}
	if broker == benchkit.NATS {
		targets = map[string]time.Duration{"p50": time.Millisecond, "p99": 5 * time.Millisecond}
	} else if broker == benchkit.RabbitMQ {
		targets = map[string]time.Duration{"p99": 10 * time.Millisecond}
	}
	for _, sh := range cfg.shapes() {
		name := brokerName(broker) + ", CLI path (bus), " + sh.name
		cfg.say("%s", name)
		t, err := runSessions(ctx, sh, func(i int, e *echoes) (session, error) {
			return openBusSession(ctx, f.Admin, laptop, devices[i%len(devices)], e)
		})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		addTyping(rep, name, t, targets)
		if ssh, ok := sshP50[sh.sessions]; ok && broker == benchkit.NATS {
			ratio := float64(t.lat.Quantile(0.5)) / float64(ssh)
			rep.Add(benchkit.Result{Bench: bench, Case: name, Metric: "p50 / ssh p50", Value: ratio, Unit: "×",
				Target: "≤ 1", Note: fmt.Sprintf("ssh p50 %.3g ms", benchkit.Millis(ssh))}, func(v float64) bool { return v <= 1 })
		}
	}
	if !cfg.websocket {
		return nil
	}
	for _, sh := range cfg.shapes() {
		name := brokerName(broker) + ", websocket (browser path), " + sh.name
		cfg.say("%s", name)
		t, err := runSessions(ctx, sh, func(i int, e *echoes) (session, error) {
			return openWSSession(ctx, f.Admin, devices[i%len(devices)], e)
		})
		if err != nil {
			rep.Note("%s not measured: %v", name, err)
			continue
		}
		addTyping(rep, name, t, nil)
	}
	return nil
}

// addTyping records one case.
func addTyping(rep *benchkit.Report, name string, t typing, targets map[string]time.Duration) {
	rep.AddLatency(bench, name, t.lat, targets)
	if t.lost+t.wrong+t.extra > 0 {
		rep.Note("%s: %d keys never echoed, %d echoed out of order, %d bytes echoed no key", name, t.lost, t.wrong, t.extra)
	}
}

// openConcurrency bounds the sessions being opened at once.
const openConcurrency = 8

// runSessions opens sh.sessions sessions, types into all at once, and
// closes them.
func runSessions(ctx context.Context, sh shape, open func(i int, e *echoes) (session, error)) (typing, error) {
	ss := make([]session, sh.sessions)
	es := make([]*echoes, sh.sessions)
	defer func() {
		var wg sync.WaitGroup
		for _, s := range ss {
			if s != nil {
				wg.Go(func() { _ = s.Close() })
			}
		}
		wg.Wait()
	}()
	sem := make(chan struct{}, openConcurrency)
	errs := make([]error, sh.sessions)
	var wg sync.WaitGroup
	for i := range ss {
		es[i] = newEchoes()
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ss[i], errs[i] = open(i, es[i])
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return typing{}, err
	}
	results := make([]typing, sh.sessions)
	for i := range ss {
		wg.Go(func() { results[i], errs[i] = typeKeys(ctx, ss[i], es[i], sh.keys, sh.interval) })
	}
	wg.Wait()
	var all typing
	for _, r := range results {
		all.lat = append(all.lat, r.lat...)
		all.lost += r.lost
		all.wrong += r.wrong
		all.extra += r.extra
	}
	return all, errors.Join(errs...)
}
