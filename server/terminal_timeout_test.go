//go:build !windows

package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/server"
)

// TestTerminalOutlivesReadTimeout: Config.ReadTimeout bounds requests, not
// the terminal WebSocket they become: a socket idle for several timeouts
// still carries the answer typed into it and the output that follows.
func TestTerminalOutlivesReadTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	s := startServer(t, func(c *assemble.Config) { c.AdminPassword = "pw-admin"; c.ReadTimeout = timeout })
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
	conn, _, err := b.dialTerminal(ctx, run.Execution, "pi-1", 1)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	frames := readUntil(t, ctx, conn, "[Y/n]")
	// The job waits for an answer: nothing moves on the socket while
	// several read timeouts pass (the time passing is what is tested).
	<-time.After(5 * timeout)
	send(t, ctx, conn, api.TerminalEvent{Type: "input", Data: "yes\r"})
	end, status, reason := readTerminal(t, ctx, conn, func(f terminalFrame) { frames = append(frames, f) })
	if !end || status != websocket.StatusNormalClosure {
		t.Fatalf("the socket ended with end=%v, status %v %q after %v idle", end, status, reason, 5*timeout)
	}
	if out := joinFrames(frames); !strings.Contains(out, "answer=yes") {
		t.Errorf("the terminal shows no answer:\n%s", out)
	}
}
