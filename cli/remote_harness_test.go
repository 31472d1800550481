package cli_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runlet/runlet/cli"
	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/server"
)

const adminPassword = "correct horse battery"

// fleet is a real server in this process and the homes of its devices.
type fleet struct {
	t   *testing.T
	srv *assemble.Server
	url string
}

// logWriter passes log lines to t.Log while the test runs.
type logWriter struct {
	t    testing.TB
	done atomic.Bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	w := &logWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startFleet starts a server on OS-assigned ports with its data in a
// temporary directory; edit changes its configuration.
func startFleet(t *testing.T, edit ...func(*assemble.Config)) *fleet {
	t.Helper()
	cfg := assemble.Config{
		Config: server.Config{
			Listen:       "127.0.0.1:0",
			DataDir:      t.TempDir(),
			PollInterval: time.Second,
			Logger:       testLogger(t),
			Out:          io.Discard,
		},
		BrokerListen:  "127.0.0.1:0",
		AdminPassword: adminPassword,
		SweepInterval: 100 * time.Millisecond,
	}
	for _, e := range edit {
		e(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := assemble.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &fleet{t: t, srv: s, url: s.URL()}
}

// signin makes a new home signed in as name with the enrollment token,
// through the CLI.
func (f *fleet) signin(name string) string {
	f.t.Helper()
	tok, err := f.srv.EnrollToken()
	if err != nil {
		f.t.Fatal(err)
	}
	h := filepath.Join(f.t.TempDir(), name)
	r := runIn(f.t, h, "", "@signin", "--server", f.url, "--name", name, "--token", tok)
	if r.code != 0 {
		f.t.Fatalf("signin %s: exit %d\n%s%s", name, r.code, r.out, r.err)
	}
	return h
}

// device signs name in and runs its daemon in this process until the test
// ends.
func (f *fleet) device(name string) string {
	f.t.Helper()
	h := f.signin(name)
	f.startDaemon(name, h)
	return h
}

// startDaemon runs the daemon of the home h, signed in as name, in this
// process until stop is called or the test ends.
func (f *fleet) startDaemon(name, h string) (stop func()) {
	f.t.Helper()
	d, err := daemon.New(daemon.Config{Home: home.Dir(h), Logger: testLogger(f.t), Version: "test", StopGrace: 2 * time.Second, Dial: assemble.Dial})
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil && ctx.Err() == nil {
			f.t.Errorf("daemon %s: %v", name, err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	f.t.Cleanup(stop)
	return stop
}

// result is one finished invocation of the CLI.
type result struct {
	code     int
	out, err string
}

// runIn runs the CLI in this process with home as --home and stdin as its
// input; env gives the environment it sees (KEY=VALUE).
func runIn(t *testing.T, home, stdin string, args ...string) result {
	t.Helper()
	return runEnv(t, home, stdin, nil, args...)
}

func runEnv(t *testing.T, home, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb testenv.Buffer
	m := &cli.Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	code := m.Run(ctx, append([]string{"--home", home}, args...))
	return result{code: code, out: out.String(), err: errb.String()}
}

// applyJobs saves a job file for the workspace through the CLI.
func applyJobs(t *testing.T, h, yaml string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jobs.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runIn(t, h, "", "@config", "apply", "-f", path); r.code != 0 {
		t.Fatalf("apply jobs: exit %d\n%s%s", r.code, r.out, r.err)
	}
}

// waitOnline waits until the server shows every device online.
func waitOnline(t *testing.T, h string, names ...string) {
	t.Helper()
	var r result
	online := testenv.Poll(30*time.Second, 100*time.Millisecond, func() bool {
		r = runIn(t, h, "", "devices")
		all := r.code == 0
		for _, n := range names {
			if !onlineIn(r.out, n) {
				all = false
			}
		}
		return all
	})
	if !online {
		t.Fatalf("devices %v not all online:\n%s%s", names, r.out, r.err)
	}
}

func onlineIn(table, name string) bool {
	for _, l := range strings.Split(table, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == name && f[1] == "yes" {
			return true
		}
	}
	return false
}

// runMainWith runs the CLI with its output going to out and errb, for a
// test that reads them while it runs.
func runMainWith(home string, out, errb *testenv.Buffer, args ...string) int {
	m := &cli.Main{Stdin: strings.NewReader(""), Stdout: out, Stderr: errb, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	return m.Run(ctx, append([]string{"--home", home}, args...))
}
