package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bench/internal/benchkit"
)

// daemonProc is `runlet daemon` running as its own process.
type daemonProc struct {
	cmd    *exec.Cmd
	ended  chan error
	stderr bytes.Buffer
}

func (p *daemonProc) pid() int { return p.cmd.Process.Pid }

// stop ends the daemon as an operator would (SIGTERM) and waits for it.
func (p *daemonProc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.ended:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.ended
	}
}

// subject is a daemon binary to measure and how to start it for a home.
type subject struct {
	label  string // the report's case prefix
	device string
	bin    string
	args   func(home string, parallel int) []string
	target bool // the targets apply
}

// daemonFootprint starts a server on embedded NATS in this process, and
// for each daemon binary signs a device in, runs the binary as that
// device's daemon and measures it idle, then running o.Jobs jobs at once.
func daemonFootprint(ctx context.Context, o options, rep *benchkit.Report, progress func(string, ...any)) error {
	bindir, err := os.MkdirTemp("", "runlet-footprint-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bindir)
	subjects := []subject{{
		label: "runlet daemon", device: "footprint-runlet", bin: o.Bin, target: true,
		args: func(home string, parallel int) []string {
			return []string{"daemon", "--home", home, "--parallel", strconv.Itoa(parallel)}
		},
	}}
	if subjects[0].bin == "" {
		progress("building runlet")
		if subjects[0].bin, err = benchkit.BuildRunlet(ctx, bindir); err != nil {
			return err
		}
	}
	if o.Reference {
		progress("building bench/footprint/daemononly")
		bin := filepath.Join(bindir, "daemononly")
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "github.com/runlet/runlet/bench/footprint/daemononly")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build daemononly: %w\n%s", err, out)
		}
		subjects = append(subjects, subject{
			label: "daemon package alone (reference)", device: "footprint-daemononly", bin: bin,
			args: func(home string, parallel int) []string {
				return []string{"-home", home, "-parallel", strconv.Itoa(parallel)}
			},
		})
	}
	progress("starting a server on embedded NATS")
	f, err := benchkit.StartFleet(ctx, benchkit.NATS)
	if err != nil {
		return err
	}
	defer f.Close()
	// Long enough to be all running at once; killed as soon as measured.
	jobs := "settings:\n  entrypoint: /bin/sh\n"
	for _, s := range subjects {
		jobs += fmt.Sprintf("wait-%s:\n  script: sleep 600\n  where: custom\n  whereCustom: [%s]\n", s.device, s.device)
	}
	if _, err := f.Admin.PutJobs(ctx, []byte(jobs), apiclient.NoVersion); err != nil {
		return fmt.Errorf("put the jobs: %w", err)
	}
	for _, s := range subjects {
		if err := measure(ctx, o, f, s, rep, progress); err != nil {
			return fmt.Errorf("%s: %w", s.label, err)
		}
	}
	return nil
}

// measure runs one daemon binary and measures it.
func measure(ctx context.Context, o options, f *benchkit.Fleet, s subject, rep *benchkit.Report, progress func(string, ...any)) error {
	dir, _, err := f.Enroll(ctx, s.device)
	if err != nil {
		return err
	}
	p := &daemonProc{ended: make(chan error, 1)}
	p.cmd = exec.Command(s.bin, s.args(string(dir), o.Jobs)...)
	// A home of its own: jobs must not run the machine's login profile.
	p.cmd.Env = append(append(os.Environ(), "HOME="+string(dir)), o.Env...)
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start the daemon: %w", err)
	}
	go func() { p.ended <- p.cmd.Wait() }()
	defer p.stop()
	if err := f.WaitOnline(ctx, s.device, p.ended); err != nil {
		return fmt.Errorf("%w\n%s", err, p.stderr.String())
	}
	progress("%s: pid %d online; settling %s, then watching it idle for %s", s.label, p.pid(), o.Settle, o.Idle)
	if err := sleep(ctx, o.Settle); err != nil {
		return err
	}
	if err := idle(ctx, p, s, o.Idle, rep); err != nil {
		return err
	}
	progress("%s: running %d jobs at once", s.label, o.Jobs)
	return busy(ctx, f, p, s, o.Jobs, rep)
}

// idle watches the daemon for d: its RSS every second and the CPU time it
// used.
func idle(ctx context.Context, p *daemonProc, s subject, d time.Duration, rep *benchkit.Report) error {
	cpu0, err := benchkit.CPUTime(p.pid())
	if err != nil {
		return err
	}
	start := time.Now()
	var rss []int64
	var anon int64
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Since(start) < d {
		r, err := benchkit.RSS(p.pid())
		if err != nil {
			return fmt.Errorf("the daemon is gone: %w\n%s", err, p.stderr.String())
		}
		rss = append(rss, r)
		if anon, err = rssAnon(p.pid()); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	cpu1, err := benchkit.CPUTime(p.pid())
	if err != nil {
		return err
	}
	took := time.Since(start)
	last, peak := rss[len(rss)-1], max64(rss)
	cas := fmt.Sprintf("%s, idle %s", s.label, d.Round(time.Second))
	res := benchkit.Result{Bench: "daemon footprint", Case: cas, Metric: "RSS (end)", Value: mb(last), Unit: "MB",
		Note: fmt.Sprintf("peak %.1f MB over %d samples", mb(peak), len(rss))}
	var want func(float64) bool
	if s.target {
		res.Target = fmt.Sprintf("≤ %d MB", targetIdleRSSMB)
		want = func(v float64) bool { return v <= targetIdleRSSMB }
	}
	rep.Add(res, want)
	rep.Add(benchkit.Result{Bench: "daemon footprint", Case: cas, Metric: "RSS anonymous (end)", Value: mb(anon), Unit: "MB",
		Note: fmt.Sprintf("heap, stacks, runtime; the other %.1f MB of RSS are pages of the executable (text, rodata) mapped at start-up", mb(last-anon))}, nil)
	res = benchkit.Result{Bench: "daemon footprint", Case: cas, Metric: "CPU", Value: 100 * float64(cpu1-cpu0) / float64(took), Unit: "% of a core",
		Note: fmt.Sprintf("%s of CPU in %s (/proc, 10 ms ticks)", cpu1-cpu0, took.Round(time.Second))}
	want = nil
	if s.target {
		res.Target = fmt.Sprintf("< %.1f %%", targetIdleCPU)
		want = func(v float64) bool { return v < targetIdleCPU }
	}
	rep.Add(res, want)
	return nil
}

// busy runs n jobs at once on the daemon and reports its peak RSS while
// all of them run.
func busy(ctx context.Context, f *benchkit.Fleet, p *daemonProc, s subject, n int, rep *benchkit.Report) error {
	var ids []string
	defer func() {
		for _, id := range ids {
			_ = f.Admin.Kill(context.Background(), id, s.device)
		}
	}()
	for range n {
		r, err := f.Admin.Run(ctx, api.RunRequest{Job: "wait-" + s.device})
		if err != nil {
			return fmt.Errorf("run a job: %w", err)
		}
		ids = append(ids, r.Execution)
	}
	if err := waitRunning(ctx, f, s.device, n, p); err != nil {
		return err
	}
	var rss []int64
	for range 5 {
		r, err := benchkit.RSS(p.pid())
		if err != nil {
			return err
		}
		rss = append(rss, r)
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
	}
	rep.Add(benchkit.Result{Bench: "daemon footprint", Case: fmt.Sprintf("%s, %d jobs running", s.label, n), Metric: "RSS (peak)", Value: mb(max64(rss)), Unit: "MB",
		Note: fmt.Sprintf("%d samples, 1 s apart, once the server saw all %d Running; jobs: sleep under /bin/sh", len(rss), n)}, nil)
	return nil
}

// waitRunning polls the server until n executions are Running on the device.
func waitRunning(ctx context.Context, f *benchkit.Fleet, device string, n int, p *daemonProc) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		xs, err := f.Admin.Executions(ctx, api.ExecutionFilter{Device: device, Status: string(runlet.StatusRunning)})
		if err != nil {
			return err
		}
		if len(xs) >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d jobs running: %w", len(xs), n, ctx.Err())
		case err := <-p.ended:
			return fmt.Errorf("the daemon ended: %v\n%s", err, p.stderr.String())
		case <-tick.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func mb(b int64) float64 { return float64(b) / 1e6 }

func max64(s []int64) int64 {
	var m int64
	for _, v := range s {
		m = max(m, v)
	}
	return m
}

// binarySizes cross-compiles runlet for every target as .ci/run does.
func binarySizes(ctx context.Context, targets []string, rep *benchkit.Report, progress func(string, ...any)) error {
	dir, err := os.MkdirTemp("", "runlet-sizes-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, t := range targets {
		parts := strings.Split(t, "/")
		if len(parts) < 2 {
			return fmt.Errorf("target %q: want GOOS/GOARCH[/GOARM]", t)
		}
		progress("building for %s", t)
		out := dir + "/runlet-" + strings.ReplaceAll(t, "/", "-")
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "github.com/runlet/runlet/cmd/runlet")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+parts[0], "GOARCH="+parts[1])
		if len(parts) > 2 {
			cmd.Env = append(cmd.Env, "GOARM="+parts[2])
		}
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build for %s: %w\n%s", t, err, b)
		}
		fi, err := os.Stat(out)
		if err != nil {
			return err
		}
		rep.Add(benchkit.Result{Bench: "binary size", Case: t, Metric: "bytes", Value: mb(fi.Size()), Unit: "MB",
			Note: fmt.Sprintf("%d bytes; CGO_ENABLED=0 -trimpath -ldflags='-s -w'", fi.Size())}, nil)
	}
	return nil
}

// rssAnon is the anonymous part of process pid's resident set (RssAnon in
// /proc/PID/status): its own memory, as opposed to pages of files it maps.
func rssAnon(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no RssAnon in /proc/%d/status", pid)
}
