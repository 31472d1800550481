//go:build !windows

package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/server"
)

// dialTerminal opens the terminal WebSocket of exec on device as the
// browser, with its cookie and Origin; edit changes the headers.
func (b *browser) dialTerminal(ctx context.Context, exec, device string, from uint64, edit ...func(http.Header)) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if b.origin != "" {
		h.Set("Origin", b.origin)
	}
	if c := b.sessionCookie(); c != "" {
		h.Set("Cookie", server.SessionCookie+"="+c)
	}
	for _, e := range edit {
		e(h)
	}
	u := "ws" + strings.TrimPrefix(b.base, "http") + fmt.Sprintf("/api/v1/executions/%s/terminal?device=%s&from=%d", exec, device, from)
	return websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: h})
}

// sessionCookie is the cookie's value the browser holds ("" for none).
func (b *browser) sessionCookie() string {
	if b.resp == nil {
		return ""
	}
	for _, c := range b.resp.Cookies() {
		if c.Name == server.SessionCookie {
			return c.Value
		}
	}
	return ""
}

// terminalFrame is one binary message of the terminal WebSocket.
type terminalFrame struct {
	seq  uint64
	data []byte
}

// readTerminal reads the socket until it closes, calling onFrame for each
// frame, and returns whether {"type":"end"} came and the close status.
func readTerminal(t *testing.T, ctx context.Context, conn *websocket.Conn, onFrame func(terminalFrame)) (end bool, status websocket.StatusCode, reason string) {
	t.Helper()
	for {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("read the terminal: %v", err)
			}
			return end, ce.Code, ce.Reason
		}
		switch typ {
		case websocket.MessageBinary:
			if len(b) < 8 {
				t.Fatalf("a frame of %d bytes", len(b))
			}
			onFrame(terminalFrame{seq: binary.BigEndian.Uint64(b), data: b[8:]})
		case websocket.MessageText:
			var ev api.TerminalEvent
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatalf("event %q: %v", b, err)
			}
			if ev.Type != "end" {
				t.Fatalf("event %+v", ev)
			}
			end = true
		}
	}
}

func send(t *testing.T, ctx context.Context, conn *websocket.Conn, ev api.TerminalEvent) {
	t.Helper()
	b, _ := json.Marshal(ev)
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("send %s: %v", ev.Type, err)
	}
}

// checkSeqs fails unless the frames are numbered from, from+1, ... .
func checkSeqs(t *testing.T, what string, frames []terminalFrame, from uint64) {
	t.Helper()
	for i, f := range frames {
		if f.seq != from+uint64(i) {
			t.Fatalf("%s: frame %d has seq %d, want %d (a gap or a duplicate)", what, i, f.seq, from+uint64(i))
		}
	}
}

// readUntil reads output frames until their text holds want, failing t on
// an error or a message that is not a frame.
func readUntil(t *testing.T, ctx context.Context, conn *websocket.Conn, want string) []terminalFrame {
	t.Helper()
	var frames []terminalFrame
	for !strings.Contains(joinFrames(frames), want) {
		typ, m, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("read until %q: %v (so far %q)", want, err, joinFrames(frames))
		}
		if typ != websocket.MessageBinary {
			t.Fatalf("a %v message before %q: %s", typ, want, m)
		}
		frames = append(frames, terminalFrame{seq: binary.BigEndian.Uint64(m), data: m[8:]})
	}
	return frames
}

func joinFrames(frames []terminalFrame) string {
	var b bytes.Buffer
	for _, f := range frames {
		b.Write(f.data)
	}
	return b.String()
}

const askJob = `ask:
  script: |
    for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; done
    printf 'Continue? [Y/n] '
    read answer
    echo "answer=$answer"
`

// TestTerminalWebSocket: a real daemon runs a job that asks a question; a
// browser watches its terminal, leaves mid-run, comes back with from= and
// answers by typing; a late browser replays the whole output.
func TestTerminalWebSocket(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "pw-admin" })
	ctx := ctxT(t)
	runDaemon(t, s.enroll(t, "pi-1"))
	admin := s.adminClient(t)
	if _, err := admin.PutJobs(ctx, []byte(askJob), 0); err != nil {
		t.Fatal(err)
	}
	run, err := admin.Run(ctx, api.RunRequest{Job: "ask", Where: "custom", On: []string{"pi-1"}})
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser(t)
	b.signIn(server.AdminEmail, "pw-admin")

	// The first socket reads until the question, then the browser leaves.
	first, _, err := b.dialTerminal(ctx, run.Execution, "pi-1", 1)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	frames := readUntil(t, ctx, first, "[Y/n]")
	first.Close(websocket.StatusNormalClosure, "")
	checkSeqs(t, "first socket", frames, 1)

	// The second one starts after the last frame seen and answers.
	next := frames[len(frames)-1].seq + 1
	second, _, err := b.dialTerminal(ctx, run.Execution, "pi-1", next)
	if err != nil {
		t.Fatalf("dial again: %v", err)
	}
	send(t, ctx, second, api.TerminalEvent{Type: "resize", Cols: 100, Rows: 30})
	send(t, ctx, second, api.TerminalEvent{Type: "input", Data: "yes\r"})
	var rest []terminalFrame
	end, status, _ := readTerminal(t, ctx, second, func(f terminalFrame) { rest = append(rest, f) })
	if !end || status != websocket.StatusNormalClosure {
		t.Fatalf("second socket ended with end=%v, status %v", end, status)
	}
	checkSeqs(t, "second socket", rest, next)
	all := append(frames, rest...)
	out := joinFrames(all)
	if !strings.Contains(out, "line 10") || !strings.Contains(out, "answer=yes") || !strings.Contains(out, "Exited with code: 0") {
		t.Fatalf("terminal output:\n%s", out)
	}
	waitStatus(t, admin, run.Execution, "pi-1", runlet.StatusFinished)

	// Replays of the ended execution: from the start, and from the middle.
	for _, from := range []uint64{1, next} {
		c, _, err := b.dialTerminal(ctx, run.Execution, "pi-1", from)
		if err != nil {
			t.Fatalf("dial from %d: %v", from, err)
		}
		var got []terminalFrame
		end, status, _ := readTerminal(t, ctx, c, func(f terminalFrame) { got = append(got, f) })
		if !end || status != websocket.StatusNormalClosure {
			t.Fatalf("replay from %d ended with end=%v, status %v", from, end, status)
		}
		checkSeqs(t, fmt.Sprintf("replay from %d", from), got, from)
		if want := joinFrames(all[from-1:]); joinFrames(got) != want {
			t.Fatalf("replay from %d:\n%q\nwant\n%q", from, joinFrames(got), want)
		}
	}
}

// TestTerminalRefusals: before upgrading, the terminal refuses a request
// without a session, with an expired one, with a session of another
// workspace, for a device the execution does not run on, and from a page
// of another site.
func TestTerminalRefusals(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "pw-admin" })
	ctx := ctxT(t)
	s.enroll(t, "pi-1")
	admin := s.adminClient(t)
	if _, err := admin.PutJobs(ctx, []byte(askJob), 0); err != nil {
		t.Fatal(err)
	}
	run, err := admin.Run(ctx, api.RunRequest{Job: "ask", Where: "custom", On: []string{"pi-1"}})
	if err != nil {
		t.Fatal(err)
	}

	// Eve belongs to another workspace only.
	other := runlet.Workspace{Name: "other"}
	if err := s.Store.CreateWorkspace(ctx, &other); err != nil {
		t.Fatal(err)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("eve-password"), bcrypt.MinCost)
	eve := runlet.User{Email: "eve@example.com", PasswordHash: string(hash)}
	if err := s.Store.CreateUser(ctx, &eve); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.PutMembership(ctx, &runlet.Membership{Workspace: other.ID, User: eve.ID, Role: runlet.RoleAdmin}); err != nil {
		t.Fatal(err)
	}

	refused := func(what string, b *browser, device string, status int, edit ...func(http.Header)) {
		t.Helper()
		c, resp, err := b.dialTerminal(ctx, run.Execution, device, 1, edit...)
		if err == nil {
			c.CloseNow()
			t.Errorf("%s: the WebSocket was opened", what)
			return
		}
		if resp == nil || resp.StatusCode != status {
			t.Errorf("%s: %v (response %+v), want status %d", what, err, resp, status)
		}
	}
	refused("no session", s.browser(t), "pi-1", 401)
	b := s.browser(t)
	b.signIn("eve@example.com", "eve-password")
	refused("a session of another workspace", b, "pi-1", 404)

	b = s.browser(t)
	b.signIn(server.AdminEmail, "pw-admin")
	refused("another device", b, "mac", 404)
	refused("a cross-site page", b, "pi-1", 403, func(h http.Header) { h.Set("Origin", "https://evil.example") })
	refused("a cross-site page with a bearer token", b, "pi-1", 403, func(h http.Header) {
		h.Del("Cookie")
		h.Set("Authorization", "Bearer "+admin.Token)
		h.Set("Origin", "https://evil.example")
	})
	c, _, err := b.dialTerminal(ctx, run.Execution, "pi-1", 1)
	if err != nil {
		t.Fatalf("the same session, same site: %v", err)
	}
	c.Close(websocket.StatusNormalClosure, "")

	s.clock.Advance(server.SessionTTL + time.Second)
	refused("an expired session", b, "pi-1", 401)
}

// TestTerminalBehindProxy: the public URL is another host than the one
// the server listens on; its pages may open terminals, others may not.
func TestTerminalBehindProxy(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) {
		c.AdminPassword = "pw-admin"
		c.PublicURL = "https://runlet.example.com"
	})
	ctx := ctxT(t)
	admin := apiclient.New("http://"+s.Addr(), "")
	tok, _ := s.EnrollToken()
	if _, err := admin.Enroll(ctx, api.EnrollRequest{Token: tok, Name: "pi-1"}); err != nil {
		t.Fatal(err)
	}
	login, err := admin.Login(ctx, server.AdminEmail, "pw-admin")
	if err != nil {
		t.Fatal(err)
	}
	admin.Token = login.Token
	if _, err := admin.PutJobs(ctx, []byte(askJob), 0); err != nil {
		t.Fatal(err)
	}
	run, err := admin.Run(ctx, api.RunRequest{Job: "ask", Where: "custom", On: []string{"pi-1"}})
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser(t)
	b.base, b.origin = "http://"+s.Addr(), "https://runlet.example.com"
	b.signIn(server.AdminEmail, "pw-admin")
	c, _, err := b.dialTerminal(ctx, run.Execution, "pi-1", 1)
	if err != nil {
		t.Fatalf("a page of the public URL: %v", err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	_, resp, err := b.dialTerminal(ctx, run.Execution, "pi-1", 1, func(h http.Header) { h.Set("Origin", "https://evil.example") })
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Errorf("a page of another site: %v, %+v", err, resp)
	}
}

// TestTerminalSlowBrowser: a browser that does not read is dropped once
// its queue is full, with the close reason telling where to resume; it
// reconnects from there (as many times as it takes) and gets every frame
// once, in order.
func TestTerminalSlowBrowser(t *testing.T) {
	// The server's side of each connection gets a small send buffer, so
	// that what the kernel holds for a browser that does not read is a
	// few KB whatever the machine's autotuning: the queue must fill.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, func(c *assemble.Config) {
		c.AdminPassword = "pw-admin"
		c.TerminalQueue = 16
		c.Listener = smallSendBuffers{ln}
	})
	ctx := ctxT(t)
	runDaemon(t, s.enroll(t, "pi-1"))
	admin := s.adminClient(t)
	const lines = 300000 // about 2 MB: more than the socket buffers hold
	if _, err := admin.PutJobs(ctx, fmt.Appendf(nil, "flood:\n  script: seq 1 %d\n", lines), 0); err != nil {
		t.Fatal(err)
	}
	run, err := admin.Run(ctx, api.RunRequest{Job: "flood", Where: "custom", On: []string{"pi-1"}})
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser(t)
	b.signIn(server.AdminEmail, "pw-admin")
	// The first socket reads nothing until the job is over; its receive
	// buffer is small, so the server's writes stall soon. It grows again
	// before reading, so that what the server's buffer holds comes fast.
	var tcp *net.TCPConn
	small := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
			tcp = tc
		}
		return c, err
	}}}
	h := http.Header{"Origin": {b.origin}, "Cookie": {server.SessionCookie + "=" + b.sessionCookie()}}
	u := "ws" + strings.TrimPrefix(b.base, "http") + "/api/v1/executions/" + run.Execution + "/terminal?device=pi-1"
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: h, HTTPClient: small})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, admin, run.Execution, "pi-1", runlet.StatusFinished)
	if tcp != nil {
		_ = tcp.SetReadBuffer(4 << 20)
	}

	var frames []terminalFrame
	next, drops := uint64(1), 0
	for {
		end, status, reason := readTerminal(t, ctx, conn, func(f terminalFrame) {
			if f.seq != next {
				t.Fatalf("frame %d after %d: a gap or a duplicate", f.seq, next-1)
			}
			frames = append(frames, f)
			next++
		})
		if end {
			break
		}
		if status != websocket.StatusTryAgainLater || reason != fmt.Sprintf("too slow: reconnect with from=%d", next) {
			t.Fatalf("socket closed with %v %q after frame %d", status, reason, next-1)
		}
		drops++
		if conn, _, err = b.dialTerminal(ctx, run.Execution, "pi-1", next); err != nil {
			t.Fatal(err)
		}
	}
	if drops == 0 {
		t.Error("the browser that read nothing was never dropped")
	}
	var want strings.Builder
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(&want, "%d\r\n", i)
	}
	if out := joinFrames(frames); !strings.Contains(out, want.String()) {
		t.Errorf("the output after %d reconnects is not seq 1 %d (%d bytes)", drops, lines, len(out))
	}
	t.Logf("%d frames, %d reconnects", len(frames), drops)
}

// TestTerminalStop: the stop button stops the job through the socket; a
// message the server does not know gets an error event, and the socket
// stays open.
func TestTerminalStop(t *testing.T) {
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "pw-admin" })
	ctx := ctxT(t)
	runDaemon(t, s.enroll(t, "pi-1"))
	admin := s.adminClient(t)
	if _, err := admin.PutJobs(ctx, []byte("wait:\n  script: echo started; sleep 600\n"), 0); err != nil {
		t.Fatal(err)
	}
	run, err := admin.Run(ctx, api.RunRequest{Job: "wait", Where: "custom", On: []string{"pi-1"}})
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser(t)
	b.signIn(server.AdminEmail, "pw-admin")
	conn, _, err := b.dialTerminal(ctx, run.Execution, "pi-1", 1)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var events []api.TerminalEvent
	stopped := false
	for {
		typ, m, err := conn.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				t.Fatalf("socket closed: %v", err)
			}
			break
		}
		if typ == websocket.MessageBinary {
			out.Write(m[8:])
		} else {
			var ev api.TerminalEvent
			_ = json.Unmarshal(m, &ev)
			events = append(events, ev)
		}
		if !stopped && strings.Contains(out.String(), "started") {
			stopped = true
			if err := conn.Write(ctx, websocket.MessageText, []byte("garbage")); err != nil {
				t.Fatal(err)
			}
			send(t, ctx, conn, api.TerminalEvent{Type: "stop"})
		}
	}
	if len(events) != 2 || events[0].Type != "error" || events[1].Type != "end" {
		t.Errorf("events %+v, want an error then the end", events)
	}
	if !strings.Contains(out.String(), "Exited with") {
		t.Errorf("output after stop:\n%s", out.String())
	}
	e := waitFinal(t, admin, run.Execution, "pi-1")
	if !e.Killed {
		t.Errorf("execution after stop: %+v", e)
	}
}

func waitFinal(t *testing.T, c *apiclient.Client, exec, device string) runlet.Execution {
	t.Helper()
	var last runlet.Execution
	testenv.Eventually(t, "execution "+exec+" to end", patience, func() bool {
		ts, err := c.Execution(context.Background(), exec)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ts {
			if e.Device == device {
				last = e
			}
		}
		return last.Status.Final()
	})
	return last
}

// smallSendBuffers accepts connections with a 4 KB send buffer.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}
