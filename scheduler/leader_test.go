package scheduler_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/dispatch"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/scheduler"
	"github.com/runlet/runlet/wire"
)

const minuteJobs = `every-minute:
  script: date
  where: all
  every: "* * * * *"
  expires: 30d
`

// TestOneRunPerTick has two servers schedule one database (a SQLite file,
// a PostgreSQL database), their passes at the same moments: each tick
// runs once, on each device. With two lease names both believe they lead
// all along, and the ticks alone keep the runs single.
func TestOneRunPerTick(t *testing.T) {
	for _, b := range backends {
		for _, leaders := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/%d leaders", b.name, leaders), func(t *testing.T) {
				start := nextMonday().Add(7*time.Hour + 30*time.Second)
				e := newEnv(t, b.make(t), start, minuteJobs)
				var servers []*server
				for i := range 2 {
					cfg := scheduler.Config{Holder: fmt.Sprintf("server-%d", i)}
					if leaders == 2 {
						cfg.Lease = cfg.Holder
					}
					servers = append(servers, e.server(t, cfg, nil))
				}
				const minutes = 12
				var want, points []time.Time
				for m := 1; m <= minutes; m++ {
					tick := start.Add(time.Duration(m)*time.Minute - 30*time.Second)
					want = append(want, tick)
					for _, d := range []time.Duration{poll / 2, 20 * time.Second, 40 * time.Second} {
						points = append(points, tick.Add(d))
					}
				}
				walk(t, e, points, servers...)
				wantRuns(t, e, "every-minute", []string{"mac", "pi"}, want...)
			})
		}
	}
}

// killer stands between a scheduler and the dispatch service and kills
// its server (kill -9: the passes' context ends and the store closes; the
// lease and the claim stay) at the first run, before or after starting it.
type killer struct {
	scheduler.Dispatch
	srv   **server
	after bool
	// between kills it after the run is recorded and before it is
	// queued: the targets exist, Pending, and no device has a dispatch.
	between bool
	killed  chan struct{}
}

func (k *killer) Run(ctx context.Context, req dispatch.Request) (dispatch.Run, error) {
	select {
	case <-k.killed:
		return dispatch.Run{}, context.Canceled
	default:
	}
	var run dispatch.Run
	var err error
	if k.after {
		run, err = k.Dispatch.Run(ctx, req)
	}
	s := *k.srv
	if k.between {
		var es []*runlet.Execution
		for _, device := range []string{"mac", "pi"} {
			es = append(es, &runlet.Execution{
				ID: req.Execution, Job: req.Job, Client: req.Client.Name, Device: device, Status: runlet.StatusPending,
				Workspace: req.Workspace, Scheduled: req.Scheduled, Expires: req.Scheduled.Add(30 * 24 * time.Hour),
			})
		}
		if err := s.db.CreateExecutions(ctx, es); err != nil {
			panic(err)
		}
	}
	s.kill()
	s.db.Close()
	close(k.killed)
	if err == nil {
		err = ctx.Err()
	}
	return run, err
}

// TestLeaderKilledMidTick kills the leader in the middle of a tick, before
// its run started and after: the other server takes the tick over within
// twice the lease's time and runs it once, neither skipping nor repeating
// it, then goes on with the next.
func TestLeaderKilledMidTick(t *testing.T) {
	for _, b := range backends {
		for _, after := range []bool{false, true} {
			name := b.name + "/before the run"
			if after {
				name = b.name + "/after the run"
			}
			t.Run(name, func(t *testing.T) {
				start := nextMonday().Add(7*time.Hour + 59*time.Minute)
				e := newEnv(t, b.make(t), start, "hourly:\n  script: date\n  where: all\n  every: '0 * * * *'\n  expires: 30d\n")
				var leader *server
				k := &killer{srv: &leader, after: after, killed: make(chan struct{})}
				leader = e.server(t, scheduler.Config{Holder: "leader"}, func(d scheduler.Dispatch) scheduler.Dispatch { k.Dispatch = d; return k })
				other := e.server(t, scheduler.Config{Holder: "other"}, nil)
				mustStep(t, leader)
				mustStep(t, other)

				tick := start.Add(time.Minute)
				e.clock.Set(tick.Add(poll / 2))
				if err := leader.sched.Step(leader.ctx); err == nil {
					t.Fatal("the killed leader's pass ended without error")
				}
				<-k.killed
				killedAt := e.clock.Now()
				if tk := e.lastTick(t, "hourly"); tk.State != runlet.TickClaimed || tk.Holder != "leader" {
					t.Fatalf("the tick after the kill: %+v, want it claimed by the leader", tk)
				}
				for e.lastTick(t, "hourly").State == runlet.TickClaimed {
					if e.clock.Now().Sub(killedAt) > 2*ttl {
						t.Fatalf("the other server had not taken the tick over %v after the kill", e.clock.Now().Sub(killedAt))
					}
					e.clock.Advance(poll)
					mustStep(t, other)
				}
				took := e.clock.Now().Sub(killedAt)
				tk := e.lastTick(t, "hourly")
				if tk.State != runlet.TickStarted || tk.Holder != "other" || !tk.At.Equal(tick) {
					t.Fatalf("the tick %v after %v: %+v, want started by the other server", tick, took, tk)
				}
				t.Logf("taken over %v after the kill (lease %v)", took, ttl)
				runs := e.runs(t, "hourly")
				if len(runs) != 1 || runs[0].id != tk.Execution {
					t.Fatalf("runs %+v, want one, the tick's execution %s", runs, tk.Execution)
				}
				walk(t, e, []time.Time{tick.Add(time.Hour + poll/2)}, other)
				wantRunsLate(t, e, "hourly", tick, tick.Add(time.Hour))
				for _, r := range e.runs(t, "hourly") {
					if len(r.devices) != 2 {
						t.Errorf("the run for %v went to %v, want mac and pi", r.scheduled, r.devices)
					}
				}
			})
		}
	}
}

// TestStartAndClose runs two schedulers in the background, as servers do:
// one runs the tick; when it closes it releases the lease, and the other
// takes over at its next poll (the simulated clock does not move, so the
// lease never expires on its own) and runs the next tick.
func TestStartAndClose(t *testing.T) {
	start := nextMonday().Add(7*time.Hour + 30*time.Second)
	e := newEnv(t, sqliteFile(t), start, minuteJobs)
	fast := scheduler.Config{Poll: 5 * time.Millisecond, LeaseTTL: time.Minute}
	var servers []*server
	for i := range 2 {
		cfg := fast
		cfg.Holder = fmt.Sprintf("server-%d", i)
		servers = append(servers, e.server(t, cfg, nil))
		servers[i].sched.Start()
	}
	holder := func() string {
		l, err := e.db.Lease(e.ctx, scheduler.DefaultLease)
		if err != nil {
			return ""
		}
		return l.Holder
	}
	testenv.Eventually(t, "a scheduler to take the lease", patience, func() bool { return holder() != "" })
	first := holder()

	tick := start.Add(30 * time.Second)
	e.clock.Set(tick.Add(time.Second))
	testenv.Eventually(t, "the first tick's run", patience, func() bool { return len(e.runs(t, "every-minute")) == 1 })

	var leader, next *server
	for _, s := range servers {
		if s.sched.Holder() == first {
			leader = s
		} else {
			next = s
		}
	}
	leader.sched.Close()
	testenv.Eventually(t, "the other scheduler to take the released lease", patience, func() bool { return holder() == next.sched.Holder() })
	e.clock.Set(tick.Add(time.Minute + time.Second))
	testenv.Eventually(t, "the second tick's run", patience, func() bool { return len(e.runs(t, "every-minute")) == 2 })
	next.sched.Close()
	if h := holder(); h != "" {
		t.Errorf("the lease is still held by %q after both closed", h)
	}
	wantRunsLate(t, e, "every-minute", tick, tick.Add(time.Minute))
	if tk := e.lastTick(t, "every-minute"); tk.Holder != next.sched.Holder() {
		t.Errorf("the second tick was run by %s, want %s", tk.Holder, next.sched.Holder())
	}
}

// TestLeaderKilledBetweenRecordAndQueue: a leader killed after it recorded
// a tick's run and before it queued it leaves Pending targets that no
// device has; the server that takes the tick over queues them again, so
// the tick is not skipped.
func TestLeaderKilledBetweenRecordAndQueue(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			start := nextMonday().Add(7*time.Hour + 59*time.Minute)
			e := newEnv(t, b.make(t), start, "hourly:\n  script: date\n  where: all\n  every: '0 * * * *'\n  expires: 30d\n")
			var leader *server
			k := &killer{srv: &leader, between: true, killed: make(chan struct{})}
			leader = e.server(t, scheduler.Config{Holder: "leader"}, func(d scheduler.Dispatch) scheduler.Dispatch { k.Dispatch = d; return k })
			other := e.server(t, scheduler.Config{Holder: "other"}, nil)
			mustStep(t, leader)
			mustStep(t, other)

			// What reaches the devices' queues.
			b, err := e.ns.Bus(e.ctx, bus.Options{Name: "watch", Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			got := make(chan wire.Dispatch, 8)
			for _, device := range []string{"mac", "pi"} {
				sub, err := b.Consume(e.ctx, e.ws, bus.DeviceQueue(device), func(d bus.Delivery) {
					var disp wire.Dispatch
					if wire.Decode(d.Body, &disp) == nil {
						got <- disp
					}
					_ = d.Ack()
				})
				if err != nil {
					t.Fatal(err)
				}
				defer sub.Close()
			}

			tick := start.Add(time.Minute)
			e.clock.Set(tick.Add(poll / 2))
			if err := leader.sched.Step(leader.ctx); err == nil {
				t.Fatal("the killed leader's pass ended without error")
			}
			<-k.killed
			select {
			case d := <-got:
				t.Fatalf("a dispatch reached a device before the take-over: %+v", d)
			default:
			}
			for e.lastTick(t, "hourly").State == runlet.TickClaimed {
				e.clock.Advance(poll)
				mustStep(t, other)
			}
			tk := e.lastTick(t, "hourly")
			if tk.State != runlet.TickStarted || tk.Holder != "other" {
				t.Fatalf("the tick after the take-over: %+v", tk)
			}
			for range 2 {
				select {
				case d := <-got:
					if d.Execution != tk.Execution || d.Job != "hourly" || d.Script != "date" {
						t.Errorf("queued again: %+v, want the tick's execution %s of hourly", d, tk.Execution)
					}
				case <-time.After(patience):
					t.Fatal("the take-over did not queue the recorded run again")
				}
			}
		})
	}
}
