package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bench/internal/benchkit"
	"github.com/runlet/runlet/bench/internal/sshd"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/viewer"
	"github.com/runlet/runlet/wire"
)

// closeWait bounds how long closing a session waits for the job's end.
const closeWait = 10 * time.Second

// startCat runs the cat job on device and returns its execution.
func startCat(ctx context.Context, admin *apiclient.Client, device string) (string, error) {
	run, err := admin.Run(ctx, api.RunRequest{Job: catJob, On: []string{device}})
	if err != nil {
		return "", fmt.Errorf("run %s on %s: %w", catJob, device, err)
	}
	return run.Execution, nil
}

// busSession is the CLI's path: a viewer on the bus, connected as a
// device, the way `runlet @attach` and `@run` follow and type.
type busSession struct {
	b      bus.Bus
	v      *viewer.Viewer
	cancel context.CancelFunc
	done   chan error
}

func openBusSession(ctx context.Context, admin *apiclient.Client, as *home.Credentials, device string, e *echoes) (*busSession, error) {
	b, err := benchkit.OpenBus(ctx, as)
	if err != nil {
		return nil, fmt.Errorf("connect to the broker as %s: %w", as.Device, err)
	}
	exec, err := startCat(ctx, admin, device)
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	s := &busSession{b: b, done: make(chan error, 1)}
	s.v = viewer.New(b, viewer.Config{Workspace: as.Workspace, Execution: exec, Device: device, Logger: benchkit.Quiet})
	fctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		_, err := s.v.Follow(fctx, func(f wire.Frame) error {
			e.feed(f.Data, time.Now())
			return nil
		})
		s.done <- err
	}()
	return s, nil
}

func (s *busSession) Type(ctx context.Context, key byte) error {
	return s.v.Input(ctx, []byte{key})
}

func (s *busSession) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	err := s.v.Kill(ctx)
	select {
	case <-s.done:
	case <-ctx.Done():
		err = errors.Join(err, errors.New("the killed job's end marker did not arrive"))
	}
	s.cancel()
	return errors.Join(err, s.b.Close())
}

// wsSession is the browser's path: the server's terminal WebSocket, which
// is a viewer on the bus inside the server.
type wsSession struct {
	conn *websocket.Conn
	done chan error
}

func openWSSession(ctx context.Context, admin *apiclient.Client, device string, e *echoes) (*wsSession, error) {
	exec, err := startCat(ctx, admin, device)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(admin.BaseURL)
	if err != nil {
		return nil, err
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path = strings.TrimRight(u.Path, "/") + "/api/v1/executions/" + url.PathEscape(exec) + "/terminal"
	u.RawQuery = url.Values{"device": {device}}.Encode()
	conn, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + admin.Token}},
	})
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			err = fmt.Errorf("%w (HTTP %s: %s)", err, resp.Status, body)
		}
		return nil, fmt.Errorf("open the terminal WebSocket of %s: %w", exec, err)
	}
	s := &wsSession{conn: conn, done: make(chan error, 1)}
	go func() { s.done <- s.read(e) }()
	return s, nil
}

// read feeds the frames to e until the end event or the socket closes.
func (s *wsSession) read(e *echoes) error {
	for {
		typ, msg, err := s.conn.Read(context.Background())
		if err != nil {
			return err
		}
		at := time.Now()
		if typ == websocket.MessageBinary {
			if len(msg) < 8 {
				return fmt.Errorf("a frame of %d bytes has no sequence number", len(msg))
			}
			e.feed(msg[8:], at)
			continue
		}
		var ev struct{ Type, Message string }
		if err := json.Unmarshal(msg, &ev); err != nil {
			return fmt.Errorf("bad event %q: %w", msg, err)
		}
		switch ev.Type {
		case "end":
			return nil
		case "error":
			return fmt.Errorf("the server says: %s", ev.Message)
		}
	}
}

func (s *wsSession) send(ctx context.Context, ev map[string]string) error {
	b, _ := json.Marshal(ev)
	return s.conn.Write(ctx, websocket.MessageText, b)
}

func (s *wsSession) Type(ctx context.Context, key byte) error {
	return s.send(ctx, map[string]string{"type": "input", "data": string(rune(key))})
}

func (s *wsSession) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	err := s.send(ctx, map[string]string{"type": "kill"})
	select {
	case <-s.done:
	case <-ctx.Done():
		err = errors.Join(err, errors.New("the killed job's end did not arrive"))
	}
	_ = s.conn.CloseNow()
	return err
}

// sshSession is the baseline: ssh -tt to the loopback sshd, the same job
// on the remote terminal, keys written to ssh's standard input and echoes
// read from its standard output.
type sshSession struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
}

func openSSHSession(srv *sshd.Server, extra []string, e *echoes) (*sshSession, error) {
	args := srv.Args(append([]string{"-tt", "-e", "none"}, extra...)...)
	cmd := exec.Command("ssh", append(args, catScript)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ssh: %w", err)
	}
	s := &sshSession{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 4096)
		for {
			n, err := stdout.Read(buf)
			if n > 0 {
				e.feed(buf[:n], time.Now())
			}
			if err != nil {
				return
			}
		}
	}()
	return s, nil
}

func (s *sshSession) Type(_ context.Context, key byte) error {
	_, err := s.stdin.Write([]byte{key})
	return err
}

func (s *sshSession) Close() error {
	_ = s.cmd.Process.Kill()
	<-s.done
	_ = s.cmd.Wait()
	return nil
}
