package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/runlet/runlet/cli"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/osservice"
)

// fakeSystem is a machine's systemd in a temporary root: the units land
// under root, and systemctl is written down instead of run.
type fakeSystem struct {
	root string
	mu   sync.Mutex
	cmds []string
}

func (f *fakeSystem) run(_ context.Context, name string, args ...string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cmd := strings.Join(append([]string{name}, args...), " ")
	f.cmds = append(f.cmds, cmd)
	if strings.Contains(cmd, "is-active") {
		return []byte("active\n"), nil
	}
	return nil, nil
}

func (f *fakeSystem) manager(user bool) (osservice.Manager, error) {
	return &osservice.Systemd{User: user, ConfigDir: "/home/ann/.config", Root: f.root, Run: f.run}, nil
}

type ran struct {
	code           int
	stdout, stderr string
}

func runWith(t *testing.T, sys *fakeSystem, env map[string]string, args ...string) ran {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m := &cli.Main{
		Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv:   func(k string) string { return env[k] },
		Services: sys.manager,
	}
	code := m.Run(context.Background(), args)
	return ran{code, stdout.String(), stderr.String()}
}

func signedIn(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "home")
	if err := home.Dir(dir).SaveCredentials(&home.Credentials{Server: "http://127.0.0.1:1", Workspace: "w", Device: "pi-1", Token: "t"}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// `runlet daemon install` refuses a home that is not signed in, saying
// what to do, and writes nothing.
func TestDaemonInstallNotSignedIn(t *testing.T) {
	sys := &fakeSystem{root: t.TempDir()}
	dir := t.TempDir()
	r := runWith(t, sys, nil, "daemon", "install", "--home", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "is not signed in") || !strings.Contains(r.stderr, "runlet @signin --home "+dir) {
		t.Errorf("exit %d, stderr %q; want 1 and a sentence telling to sign in", r.code, r.stderr)
	}
	if len(sys.cmds) != 0 {
		t.Errorf("systemctl ran: %q", sys.cmds)
	}
	if _, err := os.Stat(filepath.Join(sys.root, "etc")); err == nil {
		t.Error("files were written for a home that is not signed in")
	}
}

// The daemon of a signed-in home installs as a system unit that runs this
// runlet on that home with the flags given, and the other verbs drive it.
func TestDaemonInstallAndVerbs(t *testing.T) {
	sys := &fakeSystem{root: t.TempDir()}
	dir := signedIn(t)
	env := map[string]string{"PATH": "/opt/tools/bin:/usr/bin:/bin"}
	r := runWith(t, sys, env, "daemon", "install", "--home", dir, "--parallel", "3")
	if r.code != 0 {
		t.Fatalf("install: exit %d, stderr %q", r.code, r.stderr)
	}
	unitPath := "/etc/systemd/system/runlet-daemon.service"
	for _, want := range []string{"installed runlet-daemon: " + unitPath, "journalctl -u runlet-daemon -f", "again 5s after a failure"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("install said %q; want %q in it", r.stdout, want)
		}
	}
	unit, err := os.ReadFile(filepath.Join(sys.root, unitPath))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		" daemon --home " + dir + " --parallel=3\n",
		"WorkingDirectory=" + dir + "\n",
		"Environment=PATH=/opt/tools/bin:/usr/bin:/bin\n",
		"Restart=on-failure\n",
		"RestartPreventExitStatus=78\n",
		"WantedBy=multi-user.target\n",
	} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %q:\n%s", want, unit)
		}
	}
	if !strings.Contains(string(unit), "ExecStart=/") {
		t.Errorf("the unit's program is not an absolute path:\n%s", unit)
	}

	for _, c := range []struct {
		args []string
		out  string
		cmd  string
	}{
		{[]string{"daemon", "stop", "--home", dir}, "stopped runlet-daemon", "systemctl stop runlet-daemon.service"},
		{[]string{"daemon", "start"}, "started runlet-daemon", "systemctl start runlet-daemon.service"},
		{[]string{"daemon", "status"}, "runlet-daemon: running\n  definition: " + unitPath, "systemctl is-active runlet-daemon.service"},
		{[]string{"daemon", "uninstall"}, "uninstalled runlet-daemon", "systemctl disable --now runlet-daemon.service"},
	} {
		sys.cmds = nil
		r := runWith(t, sys, env, c.args...)
		if r.code != 0 || !strings.Contains(r.stdout, c.out) || !strings.Contains(strings.Join(sys.cmds, "\n"), c.cmd) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q, commands %q; want %q and %q", c.args, r.code, r.stdout, r.stderr, sys.cmds, c.out, c.cmd)
		}
	}
	if _, err := os.Stat(filepath.Join(sys.root, unitPath)); err == nil {
		t.Error("the unit is still there after uninstall")
	}
	r = runWith(t, sys, env, "daemon", "status")
	if r.code != 3 || !strings.Contains(r.stdout, "not installed") {
		t.Errorf("status after uninstall: exit %d, stdout %q; want 3 and 'not installed'", r.code, r.stdout)
	}
	r = runWith(t, sys, env, "daemon", "start")
	if r.code != 1 || !strings.Contains(r.stderr, "is not installed") {
		t.Errorf("start after uninstall: exit %d, stderr %q", r.code, r.stderr)
	}
}

// --user installs the user's own unit, without User=, and says how to
// keep it running after logout.
func TestDaemonInstallUser(t *testing.T) {
	sys := &fakeSystem{root: t.TempDir()}
	dir := signedIn(t)
	r := runWith(t, sys, nil, "daemon", "install", "--user", "--home", dir, "--name", "runlet-pi2")
	if r.code != 0 || !strings.Contains(r.stdout, "enable-linger") {
		t.Fatalf("install --user: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	unit, err := os.ReadFile(filepath.Join(sys.root, "/home/ann/.config/systemd/user/runlet-pi2.service"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(unit), "User=") || !strings.Contains(string(unit), "WantedBy=default.target") {
		t.Errorf("user unit:\n%s", unit)
	}
	if got := strings.Join(sys.cmds, "\n"); !strings.Contains(got, "systemctl --user enable runlet-pi2.service") {
		t.Errorf("commands: %s", got)
	}
}

// The server's flags go into its unit; its secrets (the database and
// broker URLs, the admin's password) into a 0600 environment file, never
// into the unit, which anyone may read.
func TestServerInstall(t *testing.T) {
	sys := &fakeSystem{root: t.TempDir()}
	data := filepath.Join(t.TempDir(), "data")
	env := map[string]string{
		"RUNLET_BROKER":         "amqp://runlet:brokersecret@mq.example/",
		"RUNLET_ADMIN_PASSWORD": "adminsecret",
		"RUNLET_PUBLIC_URL":     "https://hub.example",
	}
	r := runWith(t, sys, env, "server", "install", "--data", data, "--listen", "0.0.0.0:8080",
		"--db", "postgres://runlet:dbsecret@db.example/runlet", "--trusted-proxy", "10.0.0.1,10.0.0.2")
	if r.code != 0 {
		t.Fatalf("server install: exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "  secrets: /etc/runlet/runlet-server.env (mode 0600)") {
		t.Errorf("install said %q", r.stdout)
	}
	unit, err := os.ReadFile(filepath.Join(sys.root, "/etc/systemd/system/runlet-server.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		" server --data " + data + " --listen=0.0.0.0:8080 --public-url=https://hub.example --trusted-proxy=10.0.0.1,10.0.0.2\n",
		"EnvironmentFile=/etc/runlet/runlet-server.env\n",
	} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %q:\n%s", want, unit)
		}
	}
	for _, secret := range []string{"dbsecret", "brokersecret", "adminsecret"} {
		if strings.Contains(string(unit), secret) {
			t.Errorf("the unit holds a secret:\n%s", unit)
		}
	}
	envPath := filepath.Join(sys.root, "/etc/runlet/runlet-server.env")
	b, err := os.ReadFile(envPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`RUNLET_DB="postgres://runlet:dbsecret@db.example/runlet"`,
		`RUNLET_BROKER="amqp://runlet:brokersecret@mq.example/"`,
		`RUNLET_ADMIN_PASSWORD="adminsecret"`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the environment file lacks %s:\n%s", want, b)
		}
	}
	if fi, err := os.Stat(envPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the environment file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Join(sys.root, data)); err != nil || !fi.IsDir() {
		t.Errorf("the data directory was not made: %v", err)
	}
}
