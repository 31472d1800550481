package home

import (
	"os"
	"runtime"
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
