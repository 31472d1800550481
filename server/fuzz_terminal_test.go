package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
)

// sentinel is the message FuzzTerminalMessages sends after each input:
// the error it is answered with says that the input before it was read.
const sentinel = `{"type":"fuzz-sentinel"}`

// FuzzTerminalMessages sends what a browser may send on the terminal
// WebSocket of a queued execution: the socket stays open, and every
// answer is an error event a page can show. Stop and kill are left out:
// they end the execution, and with it the socket the target reuses; so are
// messages over the socket's 64 KiB read limit, which close it by design.
func FuzzTerminalMessages(f *testing.F) {
	for _, s := range []string{
		`{"type":"input","data":"ls -l\r"}`, `{"type":"input","data":""}`,
		`{"type":"resize","cols":120,"rows":40}`, `{"type":"resize","cols":0,"rows":65535}`,
		`{"type":"reboot"}`, `{"type":1}`, `{}`, `[]`, `null`, `{"type":"input","data":"\u001b[2J"}`, "\xff",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("binary"), true)
	a := newFuzzAPI(f)
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	run, err := apiclient.New(a.s.URL(), a.admin).Run(ctx, api.RunRequest{Job: "hello", Args: []string{"x"}, Where: "custom", On: []string{"pi-1"}})
	if err != nil {
		f.Fatal(err)
	}
	h := http.Header{"Origin": {a.origin}, "Authorization": {"Bearer " + a.admin}}
	u := "ws" + strings.TrimPrefix(a.s.URL(), "http") + "/api/v1/executions/" + run.Execution + "/terminal?device=pi-1"
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { conn.CloseNow() })
	conn.SetReadLimit(1 << 20)
	f.Fuzz(func(t *testing.T, msg []byte, binary bool) {
		var ev api.TerminalEvent
		if len(msg) > 64<<10 || !binary && json.Unmarshal(msg, &ev) == nil && (ev.Type == "stop" || ev.Type == "kill") {
			t.Skip()
		}
		typ := websocket.MessageText
		if binary {
			typ = websocket.MessageBinary
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := conn.Write(ctx, typ, msg); err != nil {
			t.Fatalf("write %q: %v (the socket closed?)", msg, err)
		}
		if err := conn.Write(ctx, websocket.MessageText, []byte(sentinel)); err != nil {
			t.Fatalf("write the sentinel after %q: %v", msg, err)
		}
		for {
			mt, b, err := conn.Read(ctx)
			var ce websocket.CloseError
			switch {
			case errors.As(err, &ce):
				t.Fatalf("after %q the server closed the socket: %d %s", msg, ce.Code, ce.Reason)
			case err != nil:
				t.Fatalf("after %q: %v", msg, err)
			case mt != websocket.MessageText:
				t.Fatalf("after %q a binary message from a queued execution: %q", msg, b)
			}
			var got api.TerminalEvent
			if json.Unmarshal(b, &got) != nil || got.Type != "error" || got.Message == "" {
				t.Fatalf("after %q the event %q, want an error with a message", msg, b)
			}
			if strings.Contains(got.Message, "fuzz-sentinel") {
				return
			}
		}
	})
}
