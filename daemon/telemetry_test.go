//go:build !windows

package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"testing"

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
	s := newServer(t, b, device)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := s.bus.DeclareQueue(ctx, s.ws, bus.Queue{Name: bus.TelemetryQueue, Pattern: bus.AllTelemetry}); err != nil {
		t.Fatal(err)
	}
	got := make(chan bus.Message, 16)
	sub, err := s.bus.Subscribe(ctx, s.ws, bus.TelemetryKey(device), func(m bus.Message) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

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
