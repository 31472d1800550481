// Package scheduler runs the jobs that have a schedule (`every`, R-JOB-7):
// it turns each tick of a job's cron line, interval or phrase into a run
// through the dispatch service, as the client "scheduler". Servers that
// share a database schedule one at a time, through a lease in the store;
// each tick is recorded once per workspace, job and instant, with its
// execution ID chosen at the claim, so that a run happens once a tick even
// when two servers believe for a moment that they lead, or when the leader
// stops mid-tick and another takes the tick over. After downtime a job runs
// at most one missed tick (catchup: one, the default) or none (catchup:
// none). Its clock is replaceable, so tests cover weeks in milliseconds.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/dispatch"
	"github.com/runlet/runlet/jobspec"
	"github.com/runlet/runlet/lease"
	"github.com/runlet/runlet/store"
)

// Defaults of Config.
const (
	// DefaultPoll is how often the scheduler looks for due ticks: a tick
	// runs within about this much of its instant.
	DefaultPoll = time.Second
	// DefaultLeaseTTL is how long the lease lasts unless renewed: a
	// leader killed without releasing it is replaced within about twice
	// this.
	DefaultLeaseTTL = 15 * time.Second
	// DefaultLease is the lease's name.
	DefaultLease = "scheduler"
)

// Client is the client name of the runs the scheduler starts, as the
// activity shows it.
const Client = "scheduler"

// Dispatch is what the scheduler needs of the dispatch service: a
// workspace's parsed job set, and starting a run.
type Dispatch interface {
	Jobs(ctx context.Context, ws string) (*jobspec.File, int64, error)
	Run(ctx context.Context, req dispatch.Request) (dispatch.Run, error)
	// Resend queues again the dispatch of a run's Pending targets.
	Resend(ctx context.Context, ws, exec string) (int, error)
}

// Store is what the scheduler needs of the store.
type Store interface {
	store.Workspaces
	store.Executions
	store.Leases
	store.Ticks
}

// Config configures the service. Store and Dispatch are required.
type Config struct {
	Store    Store
	Dispatch Dispatch
	// Now is the clock, the store's (store.Options.Now) since the lease
	// and the claims are timed by the store; nil means time.Now.
	Now func() time.Time
	// Logger receives the log; nil means slog.Default().
	Logger *slog.Logger
	// Poll is how often the leader looks for due ticks and others try
	// for the lease; 0 means DefaultPoll.
	Poll time.Duration
	// LeaseTTL is how long the lease and a claim on a tick last unless
	// renewed; 0 means DefaultLeaseTTL. It must be more than twice Poll.
	LeaseTTL time.Duration
	// Grace is how late a tick may be found and still count as on time:
	// older, it was missed and a job with catchup: none skips it. 0 means
	// twice LeaseTTL plus Poll, so that a change of leader misses nothing.
	Grace time.Duration
	// Holder names this scheduler in the lease and the ticks; "" means
	// HOSTNAME-PID-RANDOM.
	Holder string
	// Lease is the lease's name; "" means DefaultLease. Servers that
	// schedule one database must use the same.
	Lease string
}

// Service schedules: Start runs it in the background until Close; Step is
// one pass, for tests that drive the clock.
type Service struct {
	cfg Config
	db  Store
	log *slog.Logger
	now func() time.Time

	leader *lease.Leader

	mu      sync.Mutex // one pass at a time; guards the fields below
	reports map[string]string

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	stop   chan struct{} // closed at Close: no further pass
	wg     sync.WaitGroup
	once   sync.Once
}

// New checks cfg and returns the service, not started.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Dispatch == nil {
		return nil, errors.New("scheduler: a store and the dispatch service are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.LeaseTTL <= 2*cfg.Poll {
		return nil, fmt.Errorf("scheduler: the lease (%v) must last more than two polls (%v each), or the leader loses it between them", cfg.LeaseTTL, cfg.Poll)
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 2*cfg.LeaseTTL + cfg.Poll
	}
	if cfg.Holder == "" {
		cfg.Holder = lease.DefaultHolder()
	}
	if cfg.Lease == "" {
		cfg.Lease = DefaultLease
	}
	s := &Service{cfg: cfg, db: cfg.Store, log: cfg.Logger.With("holder", cfg.Holder), now: cfg.Now,
		reports: map[string]string{}, stop: make(chan struct{})}
	s.leader = lease.New(lease.Config{Store: cfg.Store, Name: cfg.Lease, Holder: cfg.Holder, TTL: cfg.LeaseTTL,
		Now: cfg.Now, Logger: cfg.Logger, Work: "schedules the jobs"})
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Holder is the name this scheduler holds the lease and claims ticks by.
func (s *Service) Holder() string { return s.cfg.Holder }

// Start runs the scheduler in the background until Close: a pass at once,
// then one every Poll.
func (s *Service) Start() {
	s.wg.Go(s.loop)
}

func (s *Service) loop() {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		if err := s.Step(s.ctx); err != nil && s.ctx.Err() == nil {
			s.log.Warn("scheduling failed", "err", err)
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// Close stops the scheduler, letting a pass under way finish for at most
// the lease's time, and releases the lease so that another server takes
// over at once.
func (s *Service) Close() {
	s.once.Do(func() {
		close(s.stop)
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(s.cfg.LeaseTTL):
			s.cancel()
			<-done
		}
		s.cancel()
		s.mu.Lock()
		defer s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.leader.Release(ctx)
	})
}

// errLostLease ends a pass whose leader lost the lease: not a failure.
var errLostLease = lease.ErrLost

// Step is one pass: take or renew the lease and, when held, start the
// due ticks of every workspace. A workspace that fails does not stop the
// others; the errors are returned together.
func (s *Service) Step(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	lead, err := s.leader.Lead(ctx)
	if err = s.report("", err); !lead { // a store that is down is told once
		return err
	}
	wss, err := s.db.ListWorkspaces(ctx)
	if err != nil {
		return fmt.Errorf("list workspaces: %w", err)
	}
	var errs []error
	for _, ws := range wss {
		err := s.workspace(ctx, ws.ID)
		if errors.Is(err, errLostLease) {
			return nil
		}
		if err = s.report(ws.ID, err); err != nil {
			errs = append(errs, fmt.Errorf("workspace %s: %w", ws.Name, err))
		}
	}
	return errors.Join(errs...)
}

// report returns err the first time it is seen for key and nil while it
// repeats, so that a job set that no longer parses is logged once, not
// every Poll; a key without error is forgotten.
func (s *Service) report(key string, err error) error {
	if err == nil {
		delete(s.reports, key)
		return nil
	}
	if s.reports[key] == err.Error() {
		return nil
	}
	s.reports[key] = err.Error()
	return err
}

// workspace starts the due ticks of the workspace's jobs.
func (s *Service) workspace(ctx context.Context, ws string) error {
	f, _, err := s.cfg.Dispatch.Jobs(ctx, ws)
	if err != nil {
		return err
	}
	last, err := s.lastTicks(ctx, ws)
	if err != nil {
		return err
	}
	var errs []error
	for _, j := range f.Jobs {
		if j.Schedule == nil {
			continue
		}
		err := s.job(ctx, ws, j, last[j.Name])
		if errors.Is(err, errLostLease) {
			return err
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", j.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) lastTicks(ctx context.Context, ws string) (map[string]*runlet.Tick, error) {
	ts, err := s.db.LastTicks(ctx, ws)
	if err != nil {
		return nil, err
	}
	m := make(map[string]*runlet.Tick, len(ts))
	for i := range ts {
		m[ts[i].Job] = &ts[i]
	}
	return m, nil
}

// job handles one scheduled job: a tick left claimed first (one this
// scheduler failed to start, or one whose scheduler stopped mid-tick),
// else its due tick, run or, if missed and the job says catchup: none,
// skipped.
func (s *Service) job(ctx context.Context, ws string, j *jobspec.Job, last *runlet.Tick) error {
	if last != nil && last.State == runlet.TickClaimed {
		return s.fire(ctx, j, *last)
	}
	p := planJob(j, last, s.now(), s.cfg.Grace)
	if p.due.IsZero() {
		return nil
	}
	t := runlet.Tick{Workspace: ws, Job: j.Name, At: p.due, Every: j.Every, Execution: store.NewID()}
	if p.missed && catchup(j) == jobspec.CatchupNone {
		return s.skip(ctx, t)
	}
	return s.fire(ctx, j, t)
}

// claim claims t for this scheduler, if it still leads.
func (s *Service) claim(ctx context.Context, t runlet.Tick) (runlet.Tick, bool, error) {
	if err := s.leader.Leading(ctx); err != nil {
		return runlet.Tick{}, false, err
	}
	t.Holder = s.cfg.Holder
	return s.db.ClaimTick(ctx, t, s.cfg.LeaseTTL)
}

// skip records a missed tick of a job with catchup: none, so that it is
// not looked at again and the job's last tick says why it did not run.
func (s *Service) skip(ctx context.Context, t runlet.Tick) error {
	t, claimed, err := s.claim(ctx, t)
	if err != nil || !claimed {
		return err
	}
	reason := fmt.Sprintf("missed: no scheduler ran at %s, and the job has catchup: none", t.At.Local().Format(time.DateTime))
	s.log.Info("missed tick skipped", "workspace", t.Workspace, "job", t.Job, "tick", t.At)
	return s.finish(ctx, t, runlet.TickSkipped, reason)
}

// fire claims the tick and starts its run. A tick claimed already by
// another scheduler that still holds its claim is left to it.
func (s *Service) fire(ctx context.Context, j *jobspec.Job, t runlet.Tick) error {
	t, claimed, err := s.claim(ctx, t)
	if err != nil || !claimed {
		return err
	}
	// A scheduler that stopped mid-tick may have started the run: the
	// execution ID chosen at the first claim says. It may have stopped
	// between recording the run and queueing it, too: what is still
	// Pending is queued again (a device that has it runs it once).
	if _, err := s.db.ExecutionTargets(ctx, t.Workspace, t.Execution); err == nil {
		n, err := s.cfg.Dispatch.Resend(ctx, t.Workspace, t.Execution)
		if err != nil && runlet.ErrorCode(err) == runlet.EINTERNAL {
			return fmt.Errorf("queue again the run of the tick at %s (tried again at the next pass): %w", t.At.Format(time.RFC3339), err)
		}
		if err != nil {
			s.log.Warn("could not queue again a run taken over", "workspace", t.Workspace, "job", t.Job, "execution", t.Execution, "err", err)
		}
		s.log.Info("tick taken over", "workspace", t.Workspace, "job", t.Job, "tick", t.At, "queued again", n)
		return s.finish(ctx, t, runlet.TickStarted, "")
	} else if runlet.ErrorCode(err) != runlet.ENOTFOUND {
		return err
	}
	run, err := s.cfg.Dispatch.Run(ctx, dispatch.Request{
		Workspace: t.Workspace, Client: dispatch.System(Client), Job: t.Job, Execution: t.Execution, Scheduled: t.At,
	})
	switch code := runlet.ErrorCode(err); {
	case err == nil:
		s.log.Info("scheduled run", "workspace", t.Workspace, "job", t.Job, "tick", t.At, "execution", run.Execution, "targets", len(run.Targets))
		return s.finish(ctx, t, runlet.TickStarted, "")
	case code == runlet.ECONFLICT: // another scheduler started it meanwhile
		return s.finish(ctx, t, runlet.TickStarted, "")
	case code != runlet.EINTERNAL:
		// The run cannot start as the job stands (no device to run on,
		// arguments it needs): the tick failed, the next one tries again.
		s.log.Warn("scheduled run not started", "workspace", t.Workspace, "job", t.Job, "tick", t.At, "reason", runlet.ErrorMessage(err))
		return s.finish(ctx, t, runlet.TickFailed, runlet.ErrorMessage(err))
	}
	// The store or the broker failed: the tick stays claimed and the next
	// pass tries again, until the job's next tick has come.
	if next := j.Schedule.Next(t.At); ctx.Err() == nil && !next.IsZero() && !next.After(s.now()) {
		reason := fmt.Sprintf("not started before the next tick: %v", err)
		if ferr := s.finish(ctx, t, runlet.TickFailed, reason); ferr != nil {
			return errors.Join(err, ferr)
		}
		return fmt.Errorf("gave up the tick at %s, %s", t.At.Format(time.RFC3339), reason)
	}
	return fmt.Errorf("start the run of the tick at %s (tried again at the next pass): %w", t.At.Format(time.RFC3339), err)
}

// finish records how the claimed tick ended. A claim another scheduler
// took over meanwhile is its to finish: not an error here.
func (s *Service) finish(ctx context.Context, t runlet.Tick, state runlet.TickState, reason string) error {
	_, err := s.db.FinishTick(ctx, t.Workspace, t.Job, t.At, s.cfg.Holder, state, reason)
	if runlet.ErrorCode(err) == runlet.ECONFLICT {
		s.log.Info("tick taken over by another scheduler", "workspace", t.Workspace, "job", t.Job, "tick", t.At, "err", err)
		return nil
	}
	return err
}
