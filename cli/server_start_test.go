package cli_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/cli"
	"github.com/runlet/runlet/internal/testenv"
)

// A server that cannot start says why in one sentence, naming the setting
// to check, and exits non-zero: no panic, no page of the broker's log
// before it (issue 17).

// runServer runs `runlet server` with args, a data directory of its own and
// free ports (unless args set them), and the environment env; it returns
// the exit code, the standard error and how long it took. A server that
// starts fails the test.
func runServer(t *testing.T, env map[string]string, args ...string) (code int, stderr string, took time.Duration) {
	t.Helper()
	all := []string{"server", "--data", filepath.Join(t.TempDir(), "data"), "--listen", "127.0.0.1:0", "--broker-listen", "127.0.0.1:0"}
	var out, errb testenv.Buffer
	m := &cli.Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	code = m.Run(ctx, append(all, args...)) // later flags win
	took = time.Since(start)
	if code == 0 || strings.Contains(out.String(), "API at") {
		t.Fatalf("the server started (exit %d):\n%s\n%s", code, out.String(), errb.String())
	}
	return code, errb.String(), took
}

// wantSentence checks that stderr is the one sentence "runlet: ..." with
// every part in want, after at most the lines allowed (each matching one of
// them), and nothing of a panic.
func wantSentence(t *testing.T, stderr string, want []string, allowed ...*regexp.Regexp) {
	t.Helper()
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
		t.Fatalf("the server panicked:\n%s", stderr)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "runlet: ") {
		t.Fatalf("the last line is not runlet's error:\n%s", stderr)
	}
	for _, w := range want {
		if !strings.Contains(last, w) {
			t.Errorf("the error does not say %q:\n%s", w, last)
		}
	}
	for _, l := range lines[:len(lines)-1] {
		ok := false
		for _, a := range allowed {
			ok = ok || a.MatchString(l)
		}
		if !ok {
			t.Errorf("before the error, the server printed %q", l)
		}
	}
}

// freeAddr is a loopback address nothing listens on (something did a
// moment ago).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// taken is a loopback address this test listens on until it ends.
func taken(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

func postgresUp(t *testing.T) {
	t.Helper()
	if err := testenv.Reachable(testenv.PostgresAddr); err != nil {
		testenv.Unavailable(t, "PostgreSQL at "+testenv.PostgresAddr, err)
	}
}

func TestServerCannotOpenDatabase(t *testing.T) {
	t.Run("postgres database missing", func(t *testing.T) {
		postgresUp(t)
		db := testenv.RandomName("runlet_missing_")
		_, stderr, _ := runServer(t, nil, "--db", "postgres://postgres:secret@"+testenv.PostgresAddr+"/"+db+"?sslmode=disable")
		wantSentence(t, stderr, []string{"cannot open the database postgres://postgres:xxxxx@", "(--db, RUNLET_DB)", `has no database "` + db + `"`})
		if strings.Contains(stderr, "secret") {
			t.Errorf("the error shows the password:\n%s", stderr)
		}
	})
	t.Run("postgres down", func(t *testing.T) {
		addr := freeAddr(t)
		_, stderr, _ := runServer(t, nil, "--db", "postgres://postgres@"+addr+"/runlet?sslmode=disable")
		wantSentence(t, stderr, []string{"cannot reach the PostgreSQL server at " + addr, "check that it runs"})
	})
	t.Run("postgres user refused", func(t *testing.T) {
		// This machine's PostgreSQL trusts every local user, so a wrong
		// password cannot be refused here; an unknown user is.
		postgresUp(t)
		_, stderr, _ := runServer(t, nil, "--db", "postgres://nobody_here:pw@"+testenv.PostgresAddr+"/postgres?sslmode=disable")
		wantSentence(t, stderr, []string{`refused the user "nobody_here"`, "check the user and the password"})
	})
	t.Run("sqlite directory missing", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "nonexistent", "dir")
		code, stderr, _ := runServer(t, nil, "--db", "sqlite:"+filepath.Join(dir, "x.db"))
		wantSentence(t, stderr, []string{"cannot open the database sqlite:", "the directory " + dir + " of the SQLite file does not exist"})
		if code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
	})
}

func TestServerDataDirectory(t *testing.T) {
	t.Run("a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		_, stderr, _ := runServer(t, nil, "--data", filepath.Join(file, "data"))
		wantSentence(t, stderr, []string{"cannot create the data directory " + filepath.Join(file, "data"), "(--data, RUNLET_DATA)"})
	})
	t.Run("in use", func(t *testing.T) {
		data := t.TempDir()
		env := map[string]string{"RUNLET_LISTEN": "127.0.0.1:0", "RUNLET_BROKER_LISTEN": "127.0.0.1:0", "RUNLET_DATA": data}
		var out, errb testenv.Buffer
		first := &cli.Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
		ctx, cancel := context.WithCancel(context.Background())
		code := make(chan int, 1)
		go func() { code <- first.Run(ctx, []string{"server"}) }()
		exit, stopped := 0, false
		stop := func() {
			if !stopped {
				stopped = true
				cancel()
				exit = <-code
			}
		}
		t.Cleanup(stop)
		testenv.Eventually(t, "the first server", time.Minute, func() bool { return strings.Contains(out.String(), "API at") })

		_, stderr, took := runServer(t, nil, "--data", data)
		wantSentence(t, stderr, []string{"the data directory " + data + " is in use by another runlet server (this process)", "another --data"})
		if took > 10*time.Second {
			t.Errorf("the second server took %s to give up", took)
		}
		stop()
		if exit != 0 {
			t.Errorf("the first server ended with %d:\n%s", exit, errb.String())
		}
		if b, err := os.ReadFile(filepath.Join(data, "server.lock")); err != nil || len(b) != 0 {
			t.Errorf("after the first server stopped, its lock file holds %q (%v)", b, err)
		}
	})
}

func TestServerAddressInUse(t *testing.T) {
	t.Run("API", func(t *testing.T) {
		addr := taken(t)
		_, stderr, _ := runServer(t, nil, "--listen", addr)
		wantSentence(t, stderr, []string{"the address " + addr + " (--listen, RUNLET_LISTEN) is in use by another process", "choose another address with --listen"})
	})
	t.Run("embedded broker", func(t *testing.T) {
		addr := taken(t)
		_, stderr, took := runServer(t, nil, "--broker-listen", addr)
		wantSentence(t, stderr, []string{"the address " + addr + " (--broker-listen, RUNLET_BROKER_LISTEN) is in use by another process", "choose another address with --broker-listen"})
		if took > 10*time.Second {
			t.Errorf("the server took %s to give up", took)
		}
	})
}

// TestServerBrokerUnreachable: with an external broker nothing answers
// for, the server says it waits, then gives up after --broker-timeout.
func TestServerBrokerUnreachable(t *testing.T) {
	const bound = 1500 * time.Millisecond
	for _, scheme := range []string{"nats", "amqp"} {
		t.Run(scheme, func(t *testing.T) {
			broker := scheme + "://runlet:secret@" + freeAddr(t)
			shown := scheme + "://runlet:xxxxx@" + strings.TrimPrefix(broker, scheme+"://runlet:secret@")
			_, stderr, took := runServer(t, map[string]string{"RUNLET_BROKER_TIMEOUT": bound.String()}, "--broker", broker)
			waiting := regexp.MustCompile(`level=WARN msg="waiting for the broker at ` + regexp.QuoteMeta(shown) + ` \(giving up after 1.5s\)"`)
			if !waiting.MatchString(stderr) {
				t.Errorf("the server did not say it waits for the broker at %s:\n%s", shown, stderr)
			}
			wantSentence(t, stderr, []string{"the broker at " + shown + " (--broker, RUNLET_BROKER) did not answer within 1.5s", "--broker-timeout"}, waiting)
			if strings.Contains(stderr, "secret") {
				t.Errorf("the output shows the password:\n%s", stderr)
			}
			if took < bound || took > bound+30*time.Second {
				t.Errorf("the server gave up after %s; the bound is %s", took, bound)
			}
		})
	}
}

func TestServerBrokerRefusesCredentials(t *testing.T) {
	u, err := url.Parse(testenv.RabbitMQ(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("guest", "wrong")
	_, stderr, _ := runServer(t, nil, "--broker", u.String(), "--broker-timeout", "1m")
	// RabbitMQ may take more than a moment to refuse: the server then says
	// it waits.
	wantSentence(t, stderr, []string{"refused the server's credentials", "check the user and the password"}, regexp.MustCompile(`msg="waiting for the broker at `))
}

func TestServerBadBrokerTimeout(t *testing.T) {
	code, stderr, _ := runServer(t, map[string]string{"RUNLET_BROKER_TIMEOUT": "soon"})
	wantSentence(t, stderr, []string{`"soon" is not a positive duration`})
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
}
