package osservice

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runlet/runlet"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the renderers")

// The specs the golden files are rendered from: the daemon of a home, and
// a server with secrets and the characters each format must escape.
func daemonSpec() Spec {
	return Spec{
		Name:        "runlet-daemon",
		Description: "Runlet daemon for /home/ann/.runlet",
		Program:     "/usr/local/bin/runlet",
		Args:        []string{"daemon", "--home", "/home/ann/.runlet", "--parallel", "2"},
		User:        "ann",
		Dir:         "/home/ann/.runlet",
		Env:         map[string]string{"PATH": "/home/ann/bin:/usr/local/bin:/usr/bin:/bin"},
	}
}

func serverSpec() Spec {
	return Spec{
		Name:        "runlet-server",
		Description: "Runlet server for /srv/runlet data (100% ours)",
		Program:     "/opt/run let/runlet",
		Args:        []string{"server", "--data", "/srv/runlet data", "--listen=0.0.0.0:8080", "--public-url=https://hub.example/$HOME?a=1&b=\"2\"", ""},
		User:        "runlet",
		Dir:         "/srv/runlet data",
		Secrets: map[string]string{
			"RUNLET_DB":     `postgres://runlet:p%w$x"y\z@db.example/runlet?sslmode=require`,
			"RUNLET_BROKER": "amqp://runlet:s3cret`x@mq.example/",
		},
	}
}

// windowsSpecs are the two services as a Windows machine has them.
func windowsDaemonSpec() Spec {
	return Spec{
		Name:        "runlet-daemon",
		Description: `Runlet daemon for C:\Users\ann\.runlet`,
		Program:     `C:\Program Files\Runlet\runlet.exe`,
		Args:        []string{"daemon", "--home", `C:\Users\ann\.runlet`},
	}
}

func windowsServerSpec() Spec {
	sp := serverSpec()
	sp.Description = `Runlet server for C:\ProgramData\Runlet data`
	sp.Program = `C:\Program Files\Runlet\runlet.exe`
	sp.Args = []string{"server", "--data", `C:\ProgramData\Runlet data`, "--public-url=https://hub.example/?a=\"2\"", ""}
	sp.User, sp.Dir = "", ""
	return sp
}

func TestGolden(t *testing.T) {
	for _, c := range []struct {
		file string
		got  []byte
	}{
		{"systemd-system-daemon.service", systemdUnit(daemonSpec(), false, "")},
		{"systemd-user-daemon.service", systemdUnit(daemonSpec(), true, "")},
		{"systemd-system-server.service", systemdUnit(serverSpec(), false, "/etc/runlet/runlet-server.env")},
		{"systemd-system-server.env", envFile(serverSpec().Secrets)},
		{"launchd-agent-daemon.plist", launchdPlist(daemonSpec(), "/Users/ann/Library/Logs/Runlet/runlet-daemon.log", true)},
		{"launchd-daemon-server.plist", launchdPlist(serverSpec(), "/Library/Logs/Runlet/runlet-server.log", false)},
		{"windows-daemon.txt", []byte(windowsDefinition(windowsDaemonSpec()).String())},
		{"windows-server.txt", []byte(windowsDefinition(windowsServerSpec()).String())},
	} {
		t.Run(c.file, func(t *testing.T) {
			golden(t, c.file, c.got)
		})
	}
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run TestGolden -update ./internal/osservice writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the renderer (go test -run TestGolden -update ./internal/osservice to accept):\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}

// The plists are well-formed XML (and plutil takes them, on a Mac).
func TestPlistWellFormed(t *testing.T) {
	for _, sp := range []Spec{daemonSpec(), serverSpec()} {
		b := launchdPlist(sp, "/tmp/x.log", false)
		d := xml.NewDecoder(bytes.NewReader(b))
		d.Strict = true
		var texts []string
		for {
			tok, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v\n%s", sp.Name, err, b)
			}
			if cd, ok := tok.(xml.CharData); ok {
				texts = append(texts, string(cd))
			}
		}
		// What the escaping protects comes back as it was.
		for _, v := range append(sp.Args, sp.Secrets["RUNLET_DB"]) {
			if v != "" && !strings.Contains(strings.Join(texts, "\x00"), v) {
				t.Errorf("%s: %q does not come back from the plist", sp.Name, v)
			}
		}
		// Python's plistlib, an outside reader of the format, reads the
		// program, its arguments and the environment back as they were.
		if py, err := exec.LookPath("python3"); err == nil {
			cmd := exec.Command(py, "-c", `import json, plistlib, sys
p = plistlib.loads(sys.stdin.buffer.read())
json.dump([p["ProgramArguments"], p.get("EnvironmentVariables", {}), p["KeepAlive"]], sys.stdout)`)
			cmd.Stdin = bytes.NewReader(b)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("plistlib: %v\n%s", err, b)
			}
			var got struct {
				args []string
				env  map[string]string
			}
			var raw []json.RawMessage
			if err := json.Unmarshal(out, &raw); err != nil || len(raw) != 3 {
				t.Fatalf("plistlib said %s: %v", out, err)
			}
			_ = json.Unmarshal(raw[0], &got.args)
			_ = json.Unmarshal(raw[1], &got.env)
			env := maps.Clone(sp.Env)
			if env == nil {
				env = map[string]string{}
			}
			maps.Copy(env, sp.Secrets)
			if !slices.Equal(got.args, append([]string{sp.Program}, sp.Args...)) || !maps.Equal(got.env, env) || string(raw[2]) != `{"SuccessfulExit": false, "Crashed": true}` {
				t.Errorf("plistlib read %s", out)
			}
		}
		if plutil, err := exec.LookPath("plutil"); err == nil {
			p := filepath.Join(t.TempDir(), "x.plist")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(plutil, "-lint", p).CombinedOutput(); err != nil {
				t.Errorf("plutil -lint: %v\n%s", err, out)
			}
		}
	}
}

// systemd itself reads the units back without a complaint, where
// systemd-analyze is installed.
func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (apt-get install systemd): the units are checked against the golden files only")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	account := ""
	if u, err := user.Current(); err == nil && u.Uid != "0" {
		account = u.Username
	}
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		sp   Spec
		user bool
		env  string
	}{
		{"daemon-system", daemonSpec(), false, ""},
		{"daemon-user", daemonSpec(), true, ""},
		{"server-system", serverSpec(), false, "/etc/runlet/runlet-server.env"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// verify checks that the program exists and the user is known.
			c.sp.Program = self
			c.sp.User = account
			unit := filepath.Join(dir, c.name+".service")
			if err := os.WriteFile(unit, systemdUnit(c.sp, c.user, c.env), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"verify", unit}
			cmd := exec.Command(analyze, args...)
			if c.user {
				// The user's manager needs a runtime directory, which a
				// machine without a login session lacks.
				rt := filepath.Join(t.TempDir(), "run")
				if err := os.Mkdir(rt, 0o700); err != nil {
					t.Fatal(err)
				}
				cmd = exec.Command(analyze, append([]string{"--user"}, args...)...)
				cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+rt)
			}
			out, err := cmd.CombinedOutput()
			if err != nil || strings.Contains(string(out), unit) {
				t.Errorf("systemd-analyze verify: %v\n%s\n%s", err, out, systemdUnit(c.sp, c.user, c.env))
			}
		})
	}
}

func TestSpecCheck(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Spec)
	}{
		{"relative program", func(s *Spec) { s.Program = "runlet" }},
		{"name with a slash", func(s *Spec) { s.Name = "../runlet" }},
		{"empty name", func(s *Spec) { s.Name = "" }},
		{"line break in an argument", func(s *Spec) { s.Args = append(s.Args, "a\nExecStartPre=/bin/evil") }},
		{"line break in a secret", func(s *Spec) { s.Secrets = map[string]string{"X": "a\nY=b"} }},
		{"bad environment name", func(s *Spec) { s.Env = map[string]string{"A B": "x"} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			sp := daemonSpec()
			c.edit(&sp)
			if err := sp.check(); runlet.ErrorCode(err) != runlet.EINVALID {
				t.Errorf("check = %v; want an EINVALID error", err)
			}
		})
	}
	sp := daemonSpec()
	sp.Program = `C:\Program Files\Runlet\runlet.exe`
	if err := sp.check(); err != nil {
		t.Errorf("a Windows program path: %v", err)
	}
}

func TestEscapeArg(t *testing.T) {
	for in, want := range map[string]string{
		"":                 `""`,
		"plain":            "plain",
		"a b":              `"a b"`,
		`C:\Program Files`: `"C:\Program Files"`,
		`C:\x`:             `C:\x`,
		`say "hi"`:         `"say \"hi\""`,
		`dir\ `:            `"dir\ "`,
		`end\`:             `end\`,
		`a b\`:             `"a b\\"`,
		`a\"b`:             `a\\\"b`,
	} {
		if got := escapeArg(in); got != want {
			t.Errorf("escapeArg(%q) = %s; want %s", in, got, want)
		}
	}
}
