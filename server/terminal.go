package server

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/auth"
	"github.com/runlet/runlet/viewer"
	"github.com/runlet/runlet/wire"
)

// The terminal WebSocket, GET /executions/{id}/terminal?device=NAME&from=SEQ,
// is one viewer (package viewer) of one execution on one device, for a
// browser: frames go out as binary messages (8-byte big-endian sequence
// number, then the bytes), {"type":"end"} follows the last one, and the
// browser sends input, resize, stop and kill as JSON text messages
// (apiclient.TerminalEvent). A resize is the browser's window size, which
// the job takes once the browser types (daemon/sizes.go): opening a
// terminal only to watch does not resize the job. At most
// Config.TerminalQueue frames wait for one browser; one that falls further
// behind is closed with 1013 and the from= to reconnect with.
const (
	// terminalWriteTimeout bounds one write to a browser.
	terminalWriteTimeout = 30 * time.Second
	// terminalPing is how often a browser must answer a ping; one that
	// does not within terminalWriteTimeout is gone.
	terminalPing = 30 * time.Second
	// terminalReadLimit bounds one message from the browser.
	terminalReadLimit = 64 << 10
)

// errSlowBrowser ends a viewer whose browser does not keep up.
var errSlowBrowser = errors.New("the browser reads too slowly")

func (s *Server) handleTerminal(w http.ResponseWriter, r *http.Request) {
	c, err := s.auth.Authenticate(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	// Checked here for every caller, not only cookies: a page of another
	// site must not open a terminal with any credential the browser holds.
	if err := s.auth.CheckOrigin(r); err != nil {
		s.error(w, r, err)
		return
	}
	q := r.URL.Query()
	from := uint64(1)
	if v := q.Get("from"); v != "" {
		if from, err = strconv.ParseUint(v, 10, 64); err != nil || from == 0 {
			s.error(w, r, runlet.Errorf(runlet.EINVALID, "from must be a frame sequence number of 1 or more, not %q.", v))
			return
		}
	}
	id, device := r.PathValue("id"), q.Get("device")
	ts, err := s.dispatch.Targets(r.Context(), c.Workspace.ID, id, device)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if device == "" {
		if len(ts) != 1 {
			s.error(w, r, runlet.Errorf(runlet.EINVALID, "Execution %s runs on %d devices: choose one with ?device=NAME.", id, len(ts)))
			return
		}
		device = ts[0].Device
	}
	s.wsMu.Lock()
	if s.stopping {
		s.wsMu.Unlock()
		s.error(w, r, runlet.Errorf(runlet.EUNAVAILABLE, "The server is shutting down."))
		return
	}
	s.sockets.Add(1)
	s.wsMu.Unlock()
	defer s.sockets.Done()

	// The Origin was checked above, against the public URL as well as the
	// Host, which a server behind a proxy needs and Accept's own check
	// does not do.
	// Taken before the socket opens, so that a revocation from now on
	// wakes its guard.
	rev := s.auth.Revocations()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept answered the request
	}
	defer conn.CloseNow()
	conn.SetReadLimit(terminalReadLimit)
	t := &terminal{s: s, c: c, conn: conn, exec: id, device: device, rev: rev}
	t.v = viewer.New(s.bus, viewer.Config{
		Workspace: c.Workspace.ID, Execution: id, Device: device, From: from,
		ID: viewer.RandomID("web"), Logger: s.log,
	})
	t.run(s.ctx, from)
}

// terminal is one WebSocket bound to one viewer.
type terminal struct {
	s      *Server
	c      *auth.Caller
	conn   *websocket.Conn
	v      *viewer.Viewer
	exec   string
	device string
	rev    <-chan struct{} // closed at the next revocation (auth.Service.Revocations)
}

// run serves the socket until the output ends, the browser leaves or the
// server stops. The viewer follows into a bounded queue; this goroutine
// writes the queue to the browser.
func (t *terminal) run(ctx context.Context, from uint64) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan wire.Frame, t.s.cfg.TerminalQueue)
	var followErr error
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		defer close(queue)
		_, followErr = t.v.Follow(ctx, func(f wire.Frame) error {
			select {
			case queue <- f:
				return nil
			default:
				return errSlowBrowser
			}
		})
	}()
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer cancel()
		t.readLoop(ctx)
	}()
	pinged := make(chan struct{})
	go func() {
		defer close(pinged)
		t.pingLoop(ctx)
	}()
	var revoked atomic.Bool
	guarded := make(chan struct{})
	go func() {
		defer close(guarded)
		if t.guard(ctx) {
			// Close before cancelling: a cancelled read closes the socket
			// without telling the browser why.
			revoked.Store(true)
			t.s.log.Info("closing a terminal WebSocket: its credentials were revoked", "execution", t.exec, "device", t.device)
			_ = t.conn.Close(websocket.StatusPolicyViolation, "signed out: these credentials were revoked")
			cancel()
		}
	}()

	next := from
	for f := range queue {
		msg := make([]byte, 8+len(f.Data))
		binary.BigEndian.PutUint64(msg, f.Seq)
		copy(msg[8:], f.Data)
		if err := t.write(ctx, websocket.MessageBinary, msg); err != nil {
			cancel()
			break
		}
		next = f.Seq + 1
	}
	for range queue { // the viewer stops once cancelled; let it
	}
	<-followed
	switch {
	case revoked.Load():
		// guard closed the socket.
	case ctx.Err() != nil:
		// The browser left, a write failed or the server stops.
		if t.s.ctx.Err() != nil {
			_ = t.conn.Close(websocket.StatusGoingAway, "the server is shutting down")
		}
	case followErr == nil:
		if t.event(ctx, api.TerminalEvent{Type: "end"}) == nil {
			_ = t.conn.Close(websocket.StatusNormalClosure, "")
		}
	case errors.Is(followErr, viewer.ErrLogEncrypted):
		// The run ended and its output is in its encrypted log only: the
		// page reads it there (its log panel), unsealed by the person.
		if t.event(ctx, api.TerminalEvent{Type: "encrypted", Message: "The rest of this run's output is in its encrypted log: unlock it in the Log panel."}) == nil {
			_ = t.conn.Close(websocket.StatusNormalClosure, "")
		}
	case errors.Is(followErr, errSlowBrowser):
		t.s.log.Info("dropping a terminal WebSocket that reads too slowly", "execution", t.exec, "device", t.device, "next", next)
		_ = t.conn.Close(websocket.StatusTryAgainLater, fmt.Sprintf("too slow: reconnect with from=%d", next))
	default:
		t.s.log.Warn("terminal WebSocket: following the output failed", "execution", t.exec, "device", t.device, "err", followErr)
		_ = t.event(ctx, api.TerminalEvent{Type: "error", Message: "Following the output failed: " + followErr.Error()})
		_ = t.conn.Close(websocket.StatusInternalError, "following the output failed")
	}
	cancel()
	<-read
	<-pinged
	<-guarded
}

// guard re-checks the socket's credentials at every revocation in this
// process and every auth.CutWithin (revocations by other replicas) until ctx
// ends; it reports true when they were revoked.
func (t *terminal) guard(ctx context.Context) bool {
	tick := time.NewTicker(auth.CutWithin)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.rev:
			t.rev = t.s.auth.Revocations()
		case <-tick.C:
		}
		c, cancel := context.WithTimeout(ctx, auth.CutWithin)
		err := t.s.auth.StillValid(c, t.c)
		cancel()
		if errors.Is(err, auth.ErrRevoked) {
			return true
		}
	}
}

func (t *terminal) write(ctx context.Context, typ websocket.MessageType, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, terminalWriteTimeout)
	defer cancel()
	return t.conn.Write(ctx, typ, b)
}

func (t *terminal) event(ctx context.Context, ev api.TerminalEvent) error {
	b, _ := json.Marshal(ev)
	return t.write(ctx, websocket.MessageText, b)
}

// readLoop applies what the browser sends until the socket closes.
func (t *terminal) readLoop(ctx context.Context) {
	for {
		typ, b, err := t.conn.Read(ctx)
		if err != nil {
			return
		}
		var ev api.TerminalEvent
		if typ != websocket.MessageText || json.Unmarshal(b, &ev) != nil {
			_ = t.event(ctx, api.TerminalEvent{Type: "error", Message: "Send JSON text messages: input, resize, stop or kill."})
			continue
		}
		if err := t.apply(ctx, ev); err != nil {
			_ = t.event(ctx, api.TerminalEvent{Type: "error", Message: runlet.ErrorMessage(err)})
		}
	}
}

func (t *terminal) apply(ctx context.Context, ev api.TerminalEvent) error {
	switch ev.Type {
	case "input":
		if ev.Data == "" {
			return nil
		}
		return t.v.Input(ctx, []byte(ev.Data))
	case "resize":
		return t.v.Resize(ctx, runlet.Size{Cols: ev.Cols, Rows: ev.Rows})
	case "stop":
		return t.s.dispatch.Stop(ctx, t.c.Workspace.ID, t.exec, t.device, clientOf(t.c))
	case "kill":
		return t.s.dispatch.Kill(ctx, t.c.Workspace.ID, t.exec, t.device, clientOf(t.c))
	}
	return runlet.Errorf(runlet.EINVALID, "Unknown message type %q: use input, resize, stop or kill.", ev.Type)
}

// pingLoop drops a browser that no longer answers.
func (t *terminal) pingLoop(ctx context.Context) {
	tick := time.NewTicker(terminalPing)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pctx, cancel := context.WithTimeout(ctx, terminalWriteTimeout)
		err := t.conn.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			t.s.log.Info("terminal WebSocket does not answer pings; closing it", "execution", t.exec, "device", t.device)
			t.conn.CloseNow()
			return
		}
	}
}
