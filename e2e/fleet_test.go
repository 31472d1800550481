//go:build !windows

package e2e_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
)

// devices are the seed's three machines.
var devices = []string{"pi-1", "pi-2", "mac"}

// stack is the broker and database a fleet's server runs on.
type stack string

const (
	// embedded is `runlet server` alone: embedded NATS and SQLite.
	embedded stack = "embedded-nats-sqlite"
	// rabbitPostgres is the scaled-out stack: a RabbitMQ node of the
	// test's own (its devices authenticated by the server through the HTTP
	// auth backend) and a fresh PostgreSQL database.
	rabbitPostgres stack = "rabbitmq-postgresql"
)

// onEachStack runs test as a subtest on every stack.
func onEachStack(t *testing.T, test func(t *testing.T, st stack)) {
	for _, st := range []stack{embedded, rabbitPostgres} {
		t.Run(string(st), func(t *testing.T) { test(t, st) })
	}
}

// fleet is a runlet server and the devices signed in to it, each a home
// directory and (when started) a daemon process.
type fleet struct {
	t          *testing.T
	stack      stack
	serverArgs []string            // the stack's flags for runlet server
	rabbit     *testenv.RabbitNode // with rabbitPostgres
	data       string
	listen     string // the API's host:port, fixed so that a restart keeps it
	broker     string // the embedded broker's host:port
	url        string
	server     *proc
	homes      map[string]string
	daemons    map[string]*proc
	daemonRuns map[string]int
}

// newFleetOn starts a server on stack st, signs in pi-1, pi-2 and mac, and starts the
// daemons of the devices named in online (all of them when online is nil).
func newFleetOn(t *testing.T, st stack, online ...string) *fleet {
	t.Helper()
	return newFleetArgs(t, st, nil, online...)
}

// newFleetArgs is newFleetOn with serverArgs added to the flags of
// `runlet server` (an object store, say).
func newFleetArgs(t *testing.T, st stack, serverArgs []string, online ...string) *fleet {
	t.Helper()
	f := &fleet{t: t, stack: st, data: t.TempDir(), homes: map[string]string{}, daemons: map[string]*proc{}, daemonRuns: map[string]int{}}
	f.listen, f.broker = freePort(t), freePort(t)
	f.url = "http://" + f.listen
	if st == rabbitPostgres {
		db := testenv.Postgres(t)
		// RabbitMQ asks the server (on loopback) about every login, the
		// server's own included: its password is the one in --broker.
		f.rabbit = testenv.StartRabbitMQNode(t, f.url+"/rabbitmq")
		u, err := url.Parse(f.rabbit.URL)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword("runlet-server", testenv.RandomName("pw-"))
		f.serverArgs = []string{"--db", db, "--broker", u.String()}
	}
	f.serverArgs = append(f.serverArgs, serverArgs...)
	f.startServer()
	tok, err := os.ReadFile(filepath.Join(f.data, "enroll-token"))
	if err != nil {
		t.Fatalf("read the enrollment token: %v", err)
	}
	for _, name := range devices {
		h := filepath.Join(t.TempDir(), name)
		mustRun(t, h, "@signin", "--server", f.url, "--token", strings.TrimSpace(string(tok)), "--name", name)
		f.homes[name] = h
	}
	if online == nil {
		online = devices
	}
	for _, name := range online {
		f.startDaemon(name)
	}
	return f
}

// freePort returns a loopback address with a port that was free a moment
// ago. The ports are fixed rather than 0 because the devices' credentials
// hold the API and broker URLs, which must survive a server restart.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer starts `runlet server` on the fleet's data directory and
// ports and waits until it is ready.
func (f *fleet) startServer() {
	f.t.Helper()
	args := append([]string{"server", "--listen", f.listen, "--broker-listen", f.broker, "--data", f.data}, f.serverArgs...)
	f.server = startProc(f.t, "server", args...)
	client := &http.Client{Timeout: 2 * time.Second}
	testenv.EventuallyEvery(f.t, "the server to be ready", 60*time.Second, pace, func() bool {
		if !f.server.running() {
			f.t.Fatalf("the server ended: %v\n%s", f.server.err, f.server.out)
		}
		resp, err := client.Get(f.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// startDaemon starts the daemon of device name and waits until the server
// sees it online.
func (f *fleet) startDaemon(name string) *proc {
	f.t.Helper()
	f.daemonRuns[name]++
	p := startProc(f.t, fmt.Sprintf("daemon %s (start %d)", name, f.daemonRuns[name]), "daemon", "--home", f.homes[name])
	f.daemons[name] = p
	testenv.EventuallyEvery(f.t, name+" to be online", 60*time.Second, pace, func() bool {
		if !p.running() {
			f.t.Fatalf("the daemon of %s ended: %v\n%s", name, p.err, p.out)
		}
		return f.online(name)
	})
	return p
}

// online reports whether the server lists device name as online.
func (f *fleet) online(name string) bool {
	var devs []struct {
		Name   string `json:"name"`
		Online bool   `json:"online"`
	}
	out := mustRun(f.t, f.homes[name], "devices", "--json")
	if err := json.Unmarshal([]byte(out), &devs); err != nil {
		f.t.Fatalf("runlet devices --json: %v\n%s", err, out)
	}
	for _, d := range devs {
		if d.Name == name {
			return d.Online
		}
	}
	return false
}

// applyJobs makes yaml the workspace's job file.
func (f *fleet) applyJobs(yaml string) {
	f.t.Helper()
	file := filepath.Join(f.t.TempDir(), "jobs.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		f.t.Fatal(err)
	}
	mustRun(f.t, f.homes["pi-1"], "@config", "apply", "-f", file)
}

// detach starts job from device from with `@run --detach --json`, on the
// devices named in on (the job's own where when none), and returns the
// execution id and the targets' first statuses.
func (f *fleet) detach(from, job string, on ...string) (string, map[string]string) {
	f.t.Helper()
	args := []string{"@run", job, "--detach", "--json"}
	if len(on) > 0 {
		args = append(args, "--on", strings.Join(on, ","))
	}
	out := mustRun(f.t, f.homes[from], args...)
	var run struct {
		Execution string `json:"execution"`
		Targets   []struct {
			Device string `json:"device"`
			Status string `json:"status"`
		} `json:"targets"`
	}
	if err := json.Unmarshal([]byte(out), &run); err != nil || run.Execution == "" {
		f.t.Fatalf("@run --detach --json printed %q (%v)", out, err)
	}
	st := map[string]string{}
	for _, t := range run.Targets {
		st[t.Device] = t.Status
	}
	return run.Execution, st
}

// activity returns the targets of the runs `runlet activity --json` lists
// as seen from device from, newest run first.
func (f *fleet) activity(from string) []runlet.Execution {
	f.t.Helper()
	out := mustRun(f.t, f.homes[from], "activity", "--json", "--limit", "200")
	var page struct {
		Runs []struct {
			Targets []runlet.Execution `json:"targets"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &page); err != nil {
		f.t.Fatalf("runlet activity --json: %v\n%s", err, out)
	}
	var execs []runlet.Execution
	for _, r := range page.Runs {
		execs = append(execs, r.Targets...)
	}
	return execs
}

// execution returns the run of exec on device as `runlet activity` shows
// it, and whether it is there.
func (f *fleet) execution(exec, device string) (runlet.Execution, bool) {
	for _, e := range f.activity("mac") {
		if e.ID == exec && e.Device == device {
			return e, true
		}
	}
	return runlet.Execution{}, false
}

// waitExecution polls `runlet activity --json` until the run of exec on
// device satisfies ok, and returns it.
func (f *fleet) waitExecution(exec, device, what string, ok func(runlet.Execution) bool) runlet.Execution {
	f.t.Helper()
	var last runlet.Execution
	if !testenv.Poll(60*time.Second, pace, func() bool {
		e, found := f.execution(exec, device)
		last = e
		return found && ok(e)
	}) {
		f.t.Fatalf("timed out waiting for execution %s on %s to be %s; last seen: %+v", exec, device, what, last)
	}
	return last
}

// waitStatus waits until the run of exec on device has status st.
func (f *fleet) waitStatus(exec, device string, st runlet.Status) runlet.Execution {
	f.t.Helper()
	return f.waitExecution(exec, device, string(st), func(e runlet.Execution) bool { return e.Status == st })
}

// waitFile waits until a job has created path.
func waitFile(t *testing.T, path string) {
	t.Helper()
	testenv.EventuallyEvery(t, "the job to create "+path, 60*time.Second, pace, func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
}

// touch creates path, the signal a test gives to a job waiting for it.
func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitForFile is the shell loop a job runs to wait (boundedly) until the
// test touches path.
func waitForFile(path string) string {
	return fmt.Sprintf(`for i in $(seq 1200); do [ -e %q ] && break; sleep 0.1; done`, path)
}

// writeFile writes a test's input file.
func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
