//go:build !windows

package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/telemetry/batch"
	"github.com/runlet/runlet/telemetry/gateway"
)

// A reading posted to the daemon's local endpoint reaches the server as a
// batch on the device's telemetry key, with the sensor's secret.
func TestTelemetryEndpoint(t *testing.T) {
	b := startBroker(t)
	got := telemetryServer(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	var err error

	dir := home.Dir(t.TempDir())
	stop := runDaemon(t, b, dir, device, func(c *daemon.Config) { c.TelemetryListen = "127.0.0.1:0" })
	var addr string
	testenv.Eventually(t, "the endpoint's address in the home", patience, func() bool {
		addr, err = gateway.ReadAddr(dir.Path(gateway.AddrFile))
		return err == nil
	})
	if fi, err := os.Stat(dir.Path(gateway.AddrFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the address file: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}
	body := `{"device":{"id":64089519511846157,"auth":64089519511846157},"reading":{"temp":4.5,"batt":80}}`
	resp, err := http.Post("http://"+addr+"/v1/readings", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var a gateway.Answer
	_ = json.NewDecoder(resp.Body).Decode(&a)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || a.Accepted != 1 {
		t.Fatalf("POST /v1/readings: %s %+v", resp.Status, a)
	}

	var m bus.Message
	select {
	case m = <-got:
	case <-ctx.Done():
		t.Fatal("no batch on the telemetry key")
	}
	bt, err := batch.Decode(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(bt.Readings) != 1 || bt.Readings[0].Sensor != 64089519511846157 || bt.Secrets[64089519511846157] != "64089519511846157" {
		t.Fatalf("the batch: %+v", bt)
	}
	if v, ok := bt.Readings[0].Value("temp"); !ok || v != 4.5 {
		t.Errorf("temp %g %v, want 4.5", v, ok)
	}
	if !strings.HasPrefix(m.ID, device+"/") {
		t.Errorf("the batch's message id %q does not start with the device", m.ID)
	}

	stop()
	if _, err := os.Stat(dir.Path(gateway.AddrFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the address file outlives the daemon: %v", err)
	}
}

// telemetryServer is the server's side of telemetry: the queue declared,
// and the batches on the device's telemetry key.
func telemetryServer(t *testing.T, b *broker) <-chan bus.Message {
	t.Helper()
	s := newServer(t, b, device)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := s.bus.DeclareQueue(ctx, s.ws, bus.Queue{Name: bus.TelemetryQueue, Pattern: bus.AllTelemetry}); err != nil {
		t.Fatal(err)
	}
	got := make(chan bus.Message, 64)
	sub, err := s.bus.Subscribe(context.Background(), s.ws, bus.TelemetryKey(device), func(m bus.Message) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return got
}

// A reading a sensor publishes to the user's MQTT broker reaches the
// server through the daemon (--mqtt).
func TestTelemetryMQTT(t *testing.T) {
	if err := testenv.Reachable("127.0.0.1:1883"); err != nil {
		testenv.Unavailable(t, "Mosquitto", err)
	}
	if _, err := exec.LookPath("mosquitto_pub"); err != nil {
		testenv.Unavailable(t, "mosquitto_pub", err)
	}
	b := startBroker(t)
	got := telemetryServer(t, b)
	topic := testenv.RandomName("runlet-daemon-test")
	runDaemon(t, b, home.Dir(t.TempDir()), device, func(c *daemon.Config) {
		c.MQTT = gateway.MQTTConfig{URL: "tcp://127.0.0.1:1883", Topic: topic + "/#", ClientID: testenv.RandomName("runlet-daemon-test")}
	})
	body := `{"device":{"id":77,"auth":"s"},"reading":{"temp":-18.5}}`
	deadline := time.After(patience)
	for {
		// Until the subscription is in place, what is published is lost
		// (QoS 1 keeps it only for a session the broker knows).
		pub := exec.Command("mosquitto_pub", "-h", "127.0.0.1", "-p", "1883", "-q", "1", "-t", topic+"/freezer", "-m", body)
		if out, err := pub.CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub: %v: %s", err, out)
		}
		select {
		case m := <-got:
			bt, err := batch.Decode(m.Body)
			if err != nil || len(bt.Readings) == 0 || bt.Readings[0].Sensor != 77 {
				t.Fatalf("the batch: %+v %v", bt, err)
			}
			return
		case <-time.After(time.Second): // publish again: the subscription may not have been there
		case <-deadline:
			t.Fatal("no batch from the MQTT reading")
		}
	}
}
