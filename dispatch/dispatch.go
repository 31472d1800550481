// Package dispatch starts runs and stops them: it resolves a job's targets
// (R-JOB-2), renders its script, records every target Pending and queues
// the dispatch durably on each device's queue; it records stops and kills
// and asks the devices for them. It needs no HTTP request: the API, a
// scheduler or an update rollout call it alike, each as a Client.
package dispatch

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/jobspec"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/wire"
)

// Client is who starts or stops a run: a user (by email), a device (by
// name), or a named system actor such as "scheduler".
type Client struct {
	// Name is how the client appears as an execution's client.
	Name string
	// Device is set when the client is a device: a job that runs "local"
	// runs there.
	Device string
}

// User is a person, by email.
func User(email string) Client { return Client{Name: email} }

// Device is a signed-in device, by name.
func Device(name string) Client { return Client{Name: name, Device: name} }

// System is a part of Runlet acting on its own, such as "scheduler".
func System(name string) Client { return Client{Name: name} }

// Request is a run to start: of a job, a command or a shell, exactly one.
// Where and On override the job's targeting; a command or a shell runs
// where they say, or on the device that asks.
type Request struct {
	Workspace string
	Client    Client
	Job       string
	// Args are the ARGS after the job name: {{ index .Args 1 }} is Args[0].
	Args []string
	// Command is a program and its arguments to run instead of a job
	// (command.go); it is recorded under its command line.
	Command []string
	// Shell runs the device user's login shell instead of a job, on one
	// device that is online.
	Shell bool
	Where jobspec.Where
	On    []string
	// Size is the terminal's size; nil means the device's default.
	Size *runlet.Size
	// Execution is the ID to give the run, "" for a new one. A caller that
	// must not start a run twice (the scheduler taking over a tick) gives
	// the same ID again: the store refuses a second run of it on a device
	// with ECONFLICT. It is lowercase letters and digits, as store.NewID
	// makes them.
	Execution string
	// Scheduled is the instant of the schedule the run is for (R-JOB-7);
	// zero for a run that was asked for.
	Scheduled time.Time
}

// Run is a started run: its execution and each target's record, Pending,
// or Error when the broker refused it (Reason says why).
type Run struct {
	Execution string
	Job       string
	Targets   []runlet.Execution
}

// Events is where the workspace's viewers are told of changes.
type Events interface {
	Event(ws string, ev wire.Event)
}

// Workspaces attaches a workspace's consumers before a run needs them:
// the statuses of its devices must have a queue to go to.
type Workspaces interface {
	Attach(ctx context.Context, ws string) error
	// Presence returns the device's last heartbeat and whether it is
	// online, for jobs that run on any device.
	Presence(ws, device string) (wire.Heartbeat, bool)
}

// Config configures the service. Store, Bus, Events and Workspaces are
// required.
type Config struct {
	Store      store.Store
	Bus        bus.Bus
	Events     Events
	Workspaces Workspaces
	// BrokerStore names where the broker keeps messages, for the reason of
	// a run refused because its disk is full.
	BrokerStore string
	// CheckBroker, when set, runs before each run's dispatch: the embedded
	// broker re-reads its disk's free space.
	CheckBroker func()
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the log; nil means slog.Default().
	Logger *slog.Logger
}

// Service dispatches runs.
type Service struct {
	cfg Config
	db  store.Store
	bus bus.Bus
	log *slog.Logger
	now func() time.Time
}

// New returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Bus == nil || cfg.Events == nil || cfg.Workspaces == nil {
		return nil, errors.New("dispatch: a store, a bus, events and workspaces are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CheckBroker == nil {
		cfg.CheckBroker = func() {}
	}
	return &Service{cfg: cfg, db: cfg.Store, bus: cfg.Bus, log: cfg.Logger, now: cfg.Now}, nil
}

// JobsFile is the name problems in a workspace's job set are reported
// under.
const JobsFile = "jobs.yaml"

// Jobs returns the workspace's job set, parsed (an empty set when it has
// none), and its version.
func (s *Service) Jobs(ctx context.Context, ws string) (*jobspec.File, int64, error) {
	src, version, updated, err := s.db.GetJobs(ctx, ws)
	if err != nil {
		return nil, 0, err
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return &jobspec.File{Name: JobsFile, Source: src}, version, nil
	}
	f, err := jobspec.ParseWith(JobsFile, src, jobspec.Options{Saved: updated})
	if err != nil {
		// Only valid files are stored, but a newer server may read them
		// differently: say so rather than fail as internal.
		return nil, version, runlet.Errorf(runlet.EINVALID, "The stored job set no longer parses; fix it with 'runlet @config':\n%s", runlet.ErrorMessage(err))
	}
	return f, version, nil
}

// UnknownJob is the error for a job f does not have, naming those it has.
func UnknownJob(name string, f *jobspec.File) error {
	names := make([]string, len(f.Jobs))
	for i, j := range f.Jobs {
		names[i] = j.Name
	}
	if len(names) == 0 {
		return runlet.Errorf(runlet.ENOTFOUND, "There is no job %q: the workspace has no jobs yet (add some with 'runlet @config').", name)
	}
	return runlet.Errorf(runlet.ENOTFOUND, "There is no job %q; the jobs are: %s.", name, strings.Join(names, ", "))
}

// Run starts req's job, command or shell on its targets. A command or a
// shell is EFORBIDDEN when the workspace's settings turn them off; a shell
// is ECONFLICT when its device is offline.
func (s *Service) Run(ctx context.Context, req Request) (Run, error) {
	if req.Workspace == "" || req.Client.Name == "" {
		return Run{}, runlet.Errorf(runlet.EINVALID, "A run needs a workspace and a client.")
	}
	if err := checkWhat(req); err != nil {
		return Run{}, err
	}
	id := req.Execution
	if id == "" {
		id = store.NewID()
	} else if !validID(id) {
		return Run{}, runlet.Errorf(runlet.EINVALID, "An execution ID is 1 to %d lowercase letters and digits, not %q.", maxIDLen, id)
	}
	f, _, err := s.Jobs(ctx, req.Workspace)
	if err != nil {
		return Run{}, err
	}
	job, targets, scripts, err := s.prepare(ctx, req, f)
	if err != nil {
		return Run{}, err
	}
	if err := s.cfg.Workspaces.Attach(ctx, req.Workspace); err != nil {
		return Run{}, err
	}
	now := s.now()
	d := wire.Dispatch{
		Execution: id, Job: job.Name, Client: req.Client.Name,
		Entrypoint: job.Entrypoint, Cwd: job.Cwd, ShowDuration: job.ShowDuration,
		Created: now, Scheduled: req.Scheduled, Expires: now.Add(job.Expires), Timeout: job.Timeout,
	}
	if req.Size != nil {
		d.Size = *req.Size
	}
	runs, err := s.dispatch(ctx, req.Workspace, targets, d, scripts)
	if err != nil {
		return Run{}, err
	}
	s.log.Info("run", "workspace", req.Workspace, "job", job.Name, "execution", d.Execution, "client", d.Client, "targets", len(targets))
	return Run{Execution: d.Execution, Job: job.Name, Targets: runs}, nil
}

// prepare finds what req runs, a job of f or a command (command.go), and
// returns it with its targets and the script of each.
func (s *Service) prepare(ctx context.Context, req Request, f *jobspec.File) (*jobspec.Job, []string, func(device string) string, error) {
	if req.Job == "" {
		return s.command(ctx, req, f.Settings)
	}
	job := f.Job(req.Job)
	if job == nil {
		return nil, nil, nil, UnknownJob(req.Job, f)
	}
	targets, err := s.resolveTargets(ctx, req, job, f.Settings)
	if err != nil {
		return nil, nil, nil, err
	}
	script, err := job.Render(append([]string{job.Name}, req.Args...))
	if err != nil {
		return nil, nil, nil, err
	}
	return job, targets, func(string) string { return script }, nil
}

// maxIDLen bounds an execution ID given in a Request.
const maxIDLen = 64

// validID reports whether id may name an execution: it is one word of a
// bus key (bus.ControlKey), so lowercase letters and digits only.
func validID(id string) bool {
	if len(id) > maxIDLen {
		return false
	}
	for _, c := range id {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return id != ""
}

// dispatchParallel is how many targets of a run are queued at a time. Each
// durable publish waits for the broker's confirm, a disk sync on the
// embedded NATS: one after the other, a run on 1,000 devices took seconds.
const dispatchParallel = 64

// dispatch records every target Pending, in one transaction, then queues
// their Dispatch durably, dispatchParallel at a time, each with its
// device's script, and returns each target's record: Pending, or Error
// when the broker refused it.
func (s *Service) dispatch(ctx context.Context, ws string, devices []string, d wire.Dispatch, scripts func(device string) string) ([]runlet.Execution, error) {
	es := make([]*runlet.Execution, len(devices))
	for i, device := range devices {
		es[i] = &runlet.Execution{
			ID: d.Execution, Job: d.Job, Client: d.Client, Device: device, Status: runlet.StatusPending, Created: d.Created,
			Scheduled: d.Scheduled, Workspace: ws, Expires: d.Expires,
		}
	}
	// Encoded once per script: every target of a job has the same one.
	bodies := make([][]byte, len(devices))
	encoded := map[string][]byte{}
	for i, device := range devices {
		d.Script = scripts(device)
		if encoded[d.Script] == nil {
			body, err := wire.Encode(d)
			if err != nil {
				return nil, err
			}
			encoded[d.Script] = body
		}
		bodies[i] = encoded[d.Script]
	}
	if err := s.db.CreateExecutions(ctx, es); err != nil {
		return nil, err
	}
	s.cfg.CheckBroker()
	runs := make([]runlet.Execution, len(es))
	errs := make([]error, len(es))
	slots := make(chan struct{}, dispatchParallel)
	var wg sync.WaitGroup
	for i, e := range es {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			runs[i], errs[i] = s.queue(ctx, e, bodies[i])
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return runs, nil
}

// queue publishes the dispatch of e to its device's durable queue and
// returns e's record. A broker that refuses ends the target as Error at
// once, so nothing waits for a message that was never sent.
func (s *Service) queue(ctx context.Context, e *runlet.Execution, body []byte) (runlet.Execution, error) {
	ws, device := e.Workspace, e.Device
	m := bus.Message{ID: e.ID + "/" + device + "/dispatch", Key: bus.DispatchKey(device), Body: body, ExpiresAt: e.Expires}
	// The queue exists since the device signed in (or the server started):
	// declaring it first would cost every target a round trip to the
	// broker (a JetStream API request on NATS). It is declared again only
	// when the broker lost it.
	err := s.bus.PublishDurable(ctx, ws, m)
	if errors.Is(err, bus.ErrNoQueue) {
		if err = s.bus.DeclareQueue(ctx, ws, bus.DeviceQueue(device)); err == nil {
			err = s.bus.PublishDurable(ctx, ws, m)
		}
	}
	if err != nil {
		reason := "the broker did not take the execution: " + err.Error()
		full := err
		if runlet.ErrorCode(err) != runlet.EFULL && errors.Is(err, bus.ErrFull) {
			full = runlet.DiskFull(s.cfg.BrokerStore, err)
		}
		if runlet.ErrorCode(full) == runlet.EFULL {
			err, reason = full, runlet.ErrorMessage(full)
		}
		s.log.Warn("dispatch failed", "execution", e.ID, "device", device, "err", err)
		u, _, uerr := s.db.UpdateExecutionStatus(ctx, ws, e.ID, device, store.StatusUpdate{
			Status: runlet.StatusError, ExitCode: -1, Reason: reason})
		if uerr != nil {
			return runlet.Execution{}, uerr
		}
		s.cfg.Events.Event(ws, wire.Event{Type: wire.EventExecution, Execution: &u})
		return u, nil
	}
	s.cfg.Events.Event(ws, wire.Event{Type: wire.EventExecution, Execution: e})
	return *e, nil
}
