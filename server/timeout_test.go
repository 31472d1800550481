package server_test

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/cmd/assemble"
)

// TestReadTimeoutCutsSlowClients: a client that sends its headers or its
// body a byte at a time cannot hold a connection past Config.ReadTimeout
// (slowloris); one cut mid-body gets a 400, not a 5xx.
func TestReadTimeoutCutsSlowClients(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s := startServer(t, func(c *assemble.Config) { c.ReadTimeout = timeout })
	addr := strings.TrimPrefix(s.URL(), "http://")
	for _, c := range []struct {
		name, start, want string // want: the start of the answer, "" for none
	}{
		{"headers", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", ""},
		{"body", "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"email\":\"", "HTTP/1.1 400 "},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, c.start); err != nil {
				t.Fatal(err)
			}
			// Drip a byte every tenth of the timeout until the server hangs up.
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				tick := time.NewTicker(timeout / 10)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					if _, err := conn.Write([]byte("a")); err != nil {
						return
					}
				}
			}()
			// Well before the 10 s header timeout a longer ReadTimeout
			// would leave in place.
			start := time.Now()
			_ = conn.SetReadDeadline(start.Add(5 * time.Second))
			got, err := io.ReadAll(conn)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the connection is still open after %v of dripping", time.Since(start).Round(time.Millisecond))
			}
			if !strings.HasPrefix(string(got), c.want) || c.want == "" && len(got) > 0 && !strings.HasPrefix(string(got), "HTTP/1.1 408 ") {
				t.Errorf("the server answered %q, want %q", got, c.want)
			}
			if c.want != "" && !strings.Contains(string(got), "did not arrive whole") {
				t.Errorf("the answer does not say the body was cut: %q", got)
			}
		})
	}
}
