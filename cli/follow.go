package cli

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/viewer"
	"github.com/runlet/runlet/wire"
)

// How a session waits for an execution's final status.
const (
	// statusPoll is how often the server is asked while output flows: the
	// bus events make the answer quicker, this is the backstop.
	statusPoll = 5 * time.Second
	// hurriedPoll is how often it is asked once the output has ended and
	// only the status is missing.
	hurriedPoll = 250 * time.Millisecond
	// finalWait bounds the wait for the status after the output ended.
	finalWait = 2 * time.Minute
	// endGrace is how long the output may go on after the status is final:
	// the viewer's replay brings the end of the output if it was lost.
	endGrace = 15 * time.Second
)

// session follows the targets of one execution for this device.
type session struct {
	m      *Main
	cred   *home.Credentials
	client *apiclient.Client
	bus    bus.Bus
	exec   string
	wg     sync.WaitGroup // the status watchers
}

// newSession connects to the broker to follow exec.
func (m *Main) newSession(ctx context.Context, cred *home.Credentials, client *apiclient.Client, exec string) (*session, error) {
	b, err := m.openBus(ctx, cred)
	if err != nil {
		return nil, err
	}
	return &session{m: m, cred: cred, client: client, bus: b, exec: exec}, nil
}

// close waits for the status watchers (their contexts must be done) and
// disconnects.
func (s *session) close() {
	s.wg.Wait()
	_ = s.bus.Close()
}

func (s *session) viewer(device string) *viewer.Viewer {
	return viewer.New(s.bus, viewer.Config{
		Workspace: s.cred.Workspace,
		Execution: s.exec,
		Device:    device,
		ID:        viewer.RandomID(s.cred.Device),
		Logger:    s.m.logger(),
	})
}

// follow delivers the output of the execution on device to out, from its
// first frame, and returns the execution's final record. It ends early,
// with what it has, when the server says the execution ended without ever
// starting (expired, refused) or when the output stops coming after the
// end.
func (s *session) follow(ctx context.Context, v *viewer.Viewer, device string, out func(wire.Frame) error) (runlet.Execution, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := s.watchFinal(ctx, device)
	fctx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	followed := make(chan error, 1)
	go func() {
		last, err := v.Follow(fctx, out)
		if errors.Is(err, viewer.ErrLogEncrypted) {
			err = &logEncrypted{after: last, err: err}
		}
		followed <- err
	}()
	var (
		rec   *runlet.Execution
		grace <-chan time.Time
	)
	for {
		select {
		case err := <-followed:
			switch {
			case ctx.Err() != nil:
				return runlet.Execution{}, s.interrupted(device)
			case errors.Is(err, viewer.ErrLogEncrypted):
				return runlet.Execution{}, err // read the rest from the log
			case rec != nil && err != nil:
				if !rec.Started.IsZero() {
					fmt.Fprintf(s.m.Stderr, "\r\nrunlet: the output of %s may be incomplete: %s did not send its end\r\n", safe(device), safe(device))
				}
				return *rec, nil
			case err != nil:
				return runlet.Execution{}, err
			case rec != nil:
				return *rec, nil
			}
			return s.awaitFinal(ctx, w, device)
		case e := <-w.final:
			rec = &e
			if e.Started.IsZero() {
				stopFollow() // it never ran: there is no output to wait for
				continue
			}
			grace = time.After(endGrace)
		case <-grace:
			stopFollow()
		}
	}
}

// interrupted tells the person who stopped following (SIGINT, SIGTERM)
// that the job goes on and how to rejoin it, and exits like a shell does.
func (s *session) interrupted(device string) error {
	fmt.Fprintf(s.m.Stderr, "\r\nrunlet: stopped following; execution %s goes on on %s: rejoin it with 'runlet attach %s --device %s'\r\n", safe(s.exec), safe(device), safe(s.exec), safe(device))
	return &exitError{code: 130}
}

// awaitFinal waits for the final status once the output is complete.
func (s *session) awaitFinal(ctx context.Context, w *statusWatch, device string) (runlet.Execution, error) {
	w.hurry()
	select {
	case e := <-w.final:
		return e, nil
	case <-ctx.Done():
		return runlet.Execution{}, s.interrupted(device)
	case <-time.After(finalWait):
		return runlet.Execution{}, runlet.Errorf(runlet.EUNAVAILABLE,
			"the output of execution %s on %s ended, but the server has not recorded how after %s; see 'runlet activity'", s.exec, device, finalWait)
	}
}

// statusWatch learns an execution's final record on one device: from the
// device's own status messages, from the server's events, and by asking
// the server now and then.
type statusWatch struct {
	final   chan runlet.Execution // receives the record once
	hurried chan struct{}
}

func (w *statusWatch) hurry() {
	select {
	case w.hurried <- struct{}{}:
	default:
	}
}

func (s *session) watchFinal(ctx context.Context, device string) *statusWatch {
	w := &statusWatch{final: make(chan runlet.Execution, 1), hurried: make(chan struct{}, 1)}
	hint := make(chan *runlet.Execution, 1)
	tell := func(e *runlet.Execution) {
		select {
		case hint <- e:
		default:
		}
	}
	ws := s.cred.Workspace
	// The subscriptions are made here, beside the viewer's, not before it:
	// they only hint, and the server is asked at once and then now and then.
	s.wg.Go(func() {
		var subs []bus.Subscription
		if sub, err := s.bus.Subscribe(ctx, ws, bus.StatusKey(s.exec, device), func(m bus.Message) {
			var st wire.Status
			if wire.Decode(m.Body, &st) == nil && st.Status.Final() {
				tell(&st.Execution)
			}
		}); err == nil {
			subs = append(subs, sub)
		}
		if sub, err := s.bus.Subscribe(ctx, ws, bus.EventKey, func(m bus.Message) {
			var ev wire.Event
			if wire.Decode(m.Body, &ev) == nil && ev.Type == wire.EventExecution && ev.Execution != nil &&
				ev.Execution.ID == s.exec && ev.Execution.Device == device && ev.Execution.Status.Final() {
				tell(nil) // ask the server for the whole record
			}
		}); err == nil {
			subs = append(subs, sub)
		}
		defer func() {
			for _, sub := range subs {
				_ = sub.Close()
			}
		}()
		poll := statusPoll
		timer := time.NewTimer(0)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-w.hurried:
				poll = hurriedPoll
				timer.Reset(0)
				continue
			case e := <-hint:
				if e != nil {
					w.final <- *e
					return
				}
			case <-timer.C:
			}
			if e, ok := s.finalRecord(ctx, device); ok {
				w.final <- e
				return
			}
			timer.Reset(poll)
		}
	})
	return w
}

// finalRecord asks the server for the execution on device and reports it
// when its status is final. A server that does not answer is asked again
// later.
func (s *session) finalRecord(ctx context.Context, device string) (runlet.Execution, bool) {
	targets, err := s.client.Execution(ctx, s.exec)
	if err != nil {
		return runlet.Execution{}, false
	}
	for _, t := range targets {
		if t.Device == device && t.Status.Final() {
			return t, true
		}
	}
	return runlet.Execution{}, false
}
