//go:build !windows

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/bench/internal/devicesim"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/viewer"
	"github.com/runlet/runlet/wire"
)

// jobsYAML is the job every device runs.
const jobsYAML = "fanout:\n  script: echo hi\n  where: all\n"

// bench is the name of this program's rows.
const bench = "fan-out"

// targets are the issue's: N devices started within the duration, on
// embedded NATS.
var targets = map[int]time.Duration{1000: 2 * time.Second, 5000: 10 * time.Second}

// measure runs one job on n simulated devices of a fresh fleet on broker.
func measure(ctx context.Context, o options, r *benchkit.Report, broker string, n int, progress io.Writer) error {
	limit, err := devicesim.RaiseFileLimit(uint64(8*n + 4096))
	if err != nil {
		return err
	}
	if need := uint64(3*n + 1024); limit < need {
		return fmt.Errorf("the open-file limit is %d; %d devices need about %d", limit, n, need)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute+time.Duration(n)*50*time.Millisecond)
	defer cancel()
	cas := caseName(broker, n)
	if broker == benchkit.RabbitMQ {
		release, err := testenv.Lock("rabbitmq", false) // no test restarts the broker during a measurement
		if err != nil {
			return err
		}
		defer release()
	}
	debug.FreeOSMemory() // what an earlier case left
	mem := newMemory(broker)
	mem.read("before the server")

	f, err := benchkit.StartFleet(ctx, broker)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Admin.PutJobs(ctx, []byte(jobsYAML), apiclient.NoVersion); err != nil {
		return fmt.Errorf("put the jobs: %w", err)
	}
	mem.read("server, no device")

	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("sim-%05d", i)
	}
	start := time.Now()
	creds, err := devicesim.EnrollAll(ctx, names, o.Parallel, func(ctx context.Context, name string) (*home.Credentials, error) {
		_, c, err := f.Enroll(ctx, name)
		return c, err
	}, progress)
	if err != nil {
		return err
	}
	r.Add(benchkit.Result{Bench: bench, Case: cas, Metric: "enroll all devices", Value: time.Since(start).Seconds(), Unit: "s",
		Note: fmt.Sprintf("through the API, %d at a time", o.Parallel)}, nil)

	start = time.Now()
	devs, err := devicesim.StartAll(ctx, creds, o.Parallel, benchkit.OpenBus, devicesim.Config{}, progress)
	if err != nil {
		return err
	}
	defer devicesim.CloseAll(devs)
	if err := waitOnline(ctx, f.Admin, n); err != nil {
		return err
	}
	r.Add(benchkit.Result{Bench: bench, Case: cas, Metric: "connect until all online", Value: time.Since(start).Seconds(), Unit: "s",
		Note: fmt.Sprintf("own broker connection each, %d at a time", o.Parallel)}, nil)
	mem.read(fmt.Sprintf("%d devices online, idle", n))
	if err := writeHeapProfile(o.MemProfile, broker, n); err != nil {
		return err
	}

	// The one who runs the job is the CLI of the first device: its API
	// token, and a broker connection of its own besides the device's.
	client := apiclient.New(f.Server.URL(), creds[0].Token)
	vb, err := benchkit.OpenBus(ctx, creds[0])
	if err != nil {
		return fmt.Errorf("connect the viewer: %w", err)
	}
	defer vb.Close()
	// The statuses and events are watched on a connection of their own, so
	// that the viewers' traffic does not delay what the watcher sees.
	wb, err := benchkit.OpenBus(ctx, creds[0])
	if err != nil {
		return fmt.Errorf("connect the status watcher: %w", err)
	}
	defer wb.Close()
	w, err := watch(ctx, wb, creds[0].Workspace, n)
	if err != nil {
		return err
	}
	defer w.close()

	stopProfile, err := startProfile(o.CPUProfile, broker, n)
	if err != nil {
		return err
	}
	t0 := time.Now()
	run, err := client.Run(ctx, api.RunRequest{Job: "fanout"})
	if err != nil {
		stopProfile()
		return fmt.Errorf("run the job: %w", err)
	}
	answered := time.Since(t0)
	if len(run.Targets) != n {
		stopProfile()
		return fmt.Errorf("the run went to %d devices, not %d", len(run.Targets), n)
	}
	output, err := followAll(ctx, vb, creds[0], run)
	if err == nil {
		err = w.wait(ctx)
	}
	stopProfile()
	if err != nil {
		return err
	}
	if err := w.check(run.Execution); err != nil {
		return err
	}
	want := targets[n]
	if broker != benchkit.NATS {
		want = 0
	}
	r.Add(benchkit.Result{Bench: bench, Case: cas, Metric: "run request answered", Value: benchkit.Millis(answered), Unit: "ms",
		Note: "all dispatches confirmed by the broker"}, nil)
	var taken, confirmed time.Time
	for _, d := range devs {
		t := d.Times()
		taken, confirmed = later(taken, t.Taken), later(confirmed, t.RunningConfirmed)
	}
	addTimed(r, cas, "all dispatches taken", taken.Sub(t0), 0, "last device to get and ack its dispatch")
	addTimed(r, cas, "all Running, on the bus", w.runningBus.Sub(t0), want, "last Running status published by a device")
	addTimed(r, cas, "all Running, confirmed", confirmed.Sub(t0), 0, "last Running status stored by the broker (publish confirmed)")
	addTimed(r, cas, "all Running, in the store", w.runningStore.Sub(t0), want, "last Running committed by the server (its event)")
	addTimed(r, cas, "viewer has all output", output.Sub(t0), 0, fmt.Sprintf("%d viewer.Follow on one connection, as runlet @run does", n))
	addTimed(r, cas, "all Finished, in the store", w.finishedStore.Sub(t0), 0, "")
	mem.read("after the run")
	mem.report(r, cas, n)
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func caseName(broker string, n int) string {
	name := map[string]string{benchkit.NATS: "embedded NATS", benchkit.RabbitMQ: "RabbitMQ"}[broker]
	return fmt.Sprintf("%s, N=%d", name, n)
}

func addTimed(r *benchkit.Report, cas, metric string, d, target time.Duration, note string) {
	res := benchkit.Result{Bench: bench, Case: cas, Metric: metric, Value: benchkit.Millis(d), Unit: "ms", Note: note}
	var met func(float64) bool
	if target > 0 {
		res.Target = fmt.Sprintf("≤ %.0f ms", benchkit.Millis(target))
		met = func(v float64) bool { return v <= benchkit.Millis(target) }
	}
	r.Add(res, met)
}

// waitOnline polls the device list until n devices are online.
func waitOnline(ctx context.Context, admin *apiclient.Client, n int) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	online := 0
	for {
		devs, err := admin.Devices(ctx)
		if err != nil {
			return fmt.Errorf("list the devices: %w", err)
		}
		online = 0
		for _, d := range devs {
			if d.Online {
				online++
			}
		}
		if online >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d devices came online: %w", online, n, ctx.Err())
		case <-t.C:
		}
	}
}

// followAll follows the output of every target at once, as `runlet @run`
// does for a job on several devices (cli/watch.go, prefixed): one viewer
// per device on the CLI's one broker connection, each subscribing to the
// device's output and its own replay key and asking for a replay from the
// first frame (the output may have gone by before the run request was
// answered). It returns when the last viewer has its device's end marker.
func followAll(ctx context.Context, b bus.Bus, c *home.Credentials, run *api.RunResponse) (time.Time, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		last  time.Time
		first error
	)
	for _, t := range run.Targets {
		wg.Go(func() {
			v := viewer.New(b, viewer.Config{
				Workspace: c.Workspace, Execution: run.Execution, Device: t.Device,
				ID: viewer.RandomID(c.Device), Logger: benchkit.Quiet,
			})
			var got int
			_, err := v.Follow(ctx, func(f wire.Frame) error {
				got += len(f.Data)
				return nil
			})
			if err == nil && got == 0 {
				err = fmt.Errorf("no output from %s", t.Device)
			}
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = fmt.Errorf("follow %s: %w", t.Device, err)
			}
			if now.After(last) {
				last = now
			}
		})
	}
	wg.Wait()
	return last, first
}

// watcher sees the statuses the devices publish (on the bus) and the
// execution events the server publishes once it committed a status (in the
// store), and notes when the last device got to Running and Finished.
type watcher struct {
	n    int
	subs []bus.Subscription
	done chan struct{}

	mu            sync.Mutex
	execs         map[string]bool
	running       map[string]bool // by the devices' statuses
	started       map[string]bool // by the server's events
	finished      map[string]bool // by the server's events
	runningBus    time.Time
	runningStore  time.Time
	finishedStore time.Time
	closed        bool
}

func watch(ctx context.Context, b bus.Bus, ws string, n int) (*watcher, error) {
	w := &watcher{n: n, done: make(chan struct{}), execs: map[string]bool{},
		running: map[string]bool{}, started: map[string]bool{}, finished: map[string]bool{}}
	for _, s := range []struct {
		key bus.Key
		h   bus.Handler
	}{{bus.AllStatus, w.onStatus}, {bus.EventKey, w.onEvent}} {
		sub, err := b.Subscribe(ctx, ws, s.key, s.h)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("subscribe to %s: %w", s.key, err)
		}
		w.subs = append(w.subs, sub)
	}
	return w, nil
}

func (w *watcher) onStatus(m bus.Message) {
	var st wire.Status
	if wire.Decode(m.Body, &st) != nil || st.Status != runlet.StatusRunning {
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.execs[st.ID] = true
	if !w.running[st.Device] {
		w.running[st.Device] = true
		if len(w.running) == w.n {
			w.runningBus = now
		}
		w.check0()
	}
}

func (w *watcher) onEvent(m bus.Message) {
	var ev wire.Event
	if wire.Decode(m.Body, &ev) != nil || ev.Type != wire.EventExecution || ev.Execution == nil {
		return
	}
	e := ev.Execution
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.execs[e.ID] = true
	if !e.Started.IsZero() && !w.started[e.Device] {
		w.started[e.Device] = true
		if len(w.started) == w.n {
			w.runningStore = now
		}
	}
	if e.Status.Final() && !w.finished[e.Device] {
		w.finished[e.Device] = true
		if len(w.finished) == w.n {
			w.finishedStore = now
		}
	}
	w.check0()
}

// check0 closes done once everything is in; w.mu is held.
func (w *watcher) check0() {
	if !w.closed && len(w.running) == w.n && len(w.started) == w.n && len(w.finished) == w.n {
		w.closed = true
		close(w.done)
	}
}

func (w *watcher) wait(ctx context.Context) error {
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		w.mu.Lock()
		defer w.mu.Unlock()
		return fmt.Errorf("of %d devices, %d were seen Running on the bus, %d Running and %d Finished in the store: %w",
			w.n, len(w.running), len(w.started), len(w.finished), ctx.Err())
	}
}

// check makes sure every status seen was of this run.
func (w *watcher) check(exec string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id := range w.execs {
		if id != exec {
			return fmt.Errorf("saw a status of execution %s, not of this run's %s", id, exec)
		}
	}
	return nil
}

func (w *watcher) close() {
	for _, s := range w.subs {
		_ = s.Close()
	}
}

func startProfile(file, broker string, n int) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	out, err := os.Create(fmt.Sprintf("%s-%s-%d.pprof", file, broker, n))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		out.Close()
	}, nil
}

// writeHeapProfile writes the heap profile to FILE-BROKER-N.heap.pprof.
func writeHeapProfile(file, broker string, n int) error {
	if file == "" {
		return nil
	}
	out, err := os.Create(fmt.Sprintf("%s-%s-%d.heap.pprof", file, broker, n))
	if err != nil {
		return err
	}
	defer out.Close()
	return pprof.Lookup("heap").WriteTo(out, 0)
}

// memory reads the process's RSS and live Go heap, and the RabbitMQ
// broker's RSS, at named moments.
type memory struct {
	broker string
	points []memPoint
}

type memPoint struct {
	when            string
	rss, heap, beam int64
}

func newMemory(broker string) *memory { return &memory{broker: broker} }

func (m *memory) read(when string) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p := memPoint{when: when, heap: int64(ms.HeapAlloc)}
	p.rss, _ = benchkit.RSS(os.Getpid())
	if m.broker == benchkit.RabbitMQ {
		p.beam = beamRSS()
	}
	m.points = append(m.points, p)
}

func (m *memory) report(r *benchkit.Report, cas string, n int) {
	mb := func(b int64) float64 { return float64(b) / (1 << 20) }
	for _, p := range m.points {
		r.Add(benchkit.Result{Bench: bench, Case: cas, Metric: "process RSS, " + p.when, Value: mb(p.rss), Unit: "MB",
			Note: fmt.Sprintf("Go heap live %.1f MB", mb(p.heap))}, nil)
		if m.broker == benchkit.RabbitMQ && p.beam > 0 {
			r.Add(benchkit.Result{Bench: bench, Case: cas, Metric: "RabbitMQ RSS, " + p.when, Value: mb(p.beam), Unit: "MB",
				Note: "beam.smp, shared with whatever else uses it"}, nil)
		}
	}
	if len(m.points) >= 3 {
		idle, server := m.points[2], m.points[1]
		r.Add(benchkit.Result{Bench: bench, Case: cas, Metric: "RSS per device, idle", Value: float64(idle.rss-server.rss) / float64(n) / 1024, Unit: "KB",
			Note: fmt.Sprintf("server + broker + simulated device; heap %.1f KB", float64(idle.heap-server.heap)/float64(n)/1024)}, nil)
	}
}
