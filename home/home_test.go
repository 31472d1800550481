package home

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/runlet/runlet"
)

func TestCredentialsRoundTrip(t *testing.T) {
	d := Dir(t.TempDir() + "/h")
	if _, err := d.Credentials(); runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
		t.Fatalf("no credentials: got %v, want EUNAUTHORIZED", err)
	}
	c := &Credentials{Server: "http://x", Workspace: "w", Device: "pi-1", Token: "t", Broker: "nats://127.0.0.1:4322", BrokerUser: "u", BrokerPassword: "p"}
	if err := d.SaveCredentials(c); err != nil {
		t.Fatal(err)
	}
	got, err := d.Credentials()
	if err != nil || *got != *c {
		t.Fatalf("got %+v, %v", got, err)
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(d.Path(credentialsFile))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("credentials mode %v, %v; want 0600", st.Mode().Perm(), err)
		}
	}
	if err := d.ForgetCredentials(); err != nil {
		t.Fatal(err)
	}
	if err := d.ForgetCredentials(); err != nil {
		t.Fatalf("forgetting twice: %v", err)
	}
	if _, err := d.Credentials(); runlet.ErrorCode(err) != runlet.EUNAUTHORIZED {
		t.Fatalf("after forget: %v", err)
	}
}

func TestDamagedCredentials(t *testing.T) {
	d := Dir(t.TempDir())
	if err := os.WriteFile(d.Path(credentialsFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Credentials(); err == nil {
		t.Fatal("damaged credentials accepted")
	}
}

func TestLogPath(t *testing.T) {
	d := Dir(t.TempDir())
	// ".." is no way out once ".log" is appended: it names "...log" here.
	for _, exec := range []string{"e1", "Exec-1.log_2", "..", "...", "é", strings.Repeat("z", 128)} {
		got, err := d.LogPath(exec)
		if err != nil || got != filepath.Join(d.LogDir(), exec+".log") || filepath.Dir(got) != d.LogDir() {
			t.Errorf("LogPath(%q) = %q, %v; want %s/%s.log", exec, got, err, d.LogDir(), exec)
		}
	}
	// Ids come from the bus: none may name a file outside the log directory.
	for _, exec := range []string{
		"", "../credentials.json", "../../etc/passwd", "a/b", "/etc/passwd",
		`..\x`, `a\b`, "C:x", "a:b", "a\x00b", "logs/../../x",
	} {
		if got, err := d.LogPath(exec); runlet.ErrorCode(err) != runlet.EINVALID || got != "" {
			t.Errorf("LogPath(%q) = %q, %v; want EINVALID", exec, got, err)
		}
	}
	if got, err := LogFile("/var/log/runlet", "e1"); err != nil || got != filepath.Join("/var/log/runlet", "e1.log") {
		t.Errorf("LogFile: %q, %v", got, err)
	}
}
