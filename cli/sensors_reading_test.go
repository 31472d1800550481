package cli_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/cmd/assemble"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/telemetry/gateway"
)

// TestSensorsFirstReading is the README's "Sensors" section: a sensor
// added, a reading posted to the daemon's local endpoint as curl does,
// and the reading in `runlet sensors readings`; then one pushed with
// `runlet telemetry push`.
func TestSensorsFirstReading(t *testing.T) {
	f := startFleet(t)
	h := f.signin("pi")
	d, err := daemon.New(daemon.Config{Home: home.Dir(h), Logger: testLogger(t), Version: "test", StopGrace: 2 * time.Second,
		Dial: assemble.Dial, TelemetryListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("daemon: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	var addr string
	testenv.Eventually(t, "the daemon's readings endpoint", 60*time.Second, func() bool {
		addr, err = gateway.ReadAddr(home.Dir(h).Path(gateway.AddrFile))
		return err == nil
	})

	if r := runEnv(t, h, "", asAdmin, "sensors", "add", "123", "--secret", "789"); r.code != 0 {
		t.Fatalf("sensors add: exit %d\n%s%s", r.code, r.out, r.err)
	}
	resp, err := http.Post("http://"+addr+"/v1/readings", "application/x-www-form-urlencoded", // as curl -d sends it
		strings.NewReader(`{"device":{"id":123,"auth":789},"reading":{"temp":4.2,"batt":97}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/readings: %s", resp.Status)
	}
	var r result
	testenv.Eventually(t, "the reading in `runlet sensors readings 123`", 60*time.Second, func() bool {
		r = runIn(t, h, "", "sensors", "readings", "123")
		return r.code == 0 && strings.Contains(r.out, "4.2°C")
	})
	t.Logf("runlet sensors readings 123:\n%s", r.out)

	file := h + "/readings.jsonl"
	if err := os.WriteFile(file, []byte(`{"device":{"id":123,"auth":"789"},"reading":{"temp":-18.5}}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runIn(t, h, "", "telemetry", "push", "--file", file); r.code != 0 {
		t.Fatalf("telemetry push: exit %d\n%s%s", r.code, r.out, r.err)
	}
	testenv.Eventually(t, "the pushed reading", 60*time.Second, func() bool {
		r = runIn(t, h, "", "sensors", "show", "123")
		return r.code == 0 && strings.Contains(r.out, "-18.5°C")
	})
	r = runIn(t, h, "", "telemetry", "stats")
	if r.code != 0 || !strings.Contains(r.out, "stored") {
		t.Errorf("telemetry stats: exit %d\n%s%s", r.code, r.out, r.err)
	}
	t.Logf("runlet telemetry stats:\n%s", r.out)
}
