package nats_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/bustest"
	natsbus "github.com/runlet/runlet/bus/nats"
)

func TestContractEmbedded(t *testing.T) {
	bustest.Run(t, embeddedHarness(startEmbedded(t)))
}

func TestContractMachineNATS(t *testing.T) {
	bustest.Run(t, machineHarness(t))
}

func TestContractProcess(t *testing.T) {
	bustest.Run(t, startProcess(t).harness())
}

func TestWrongCredentials(t *testing.T) {
	s := startEmbedded(t)
	p := startProcess(t)
	for name, u := range map[string]string{
		"embedded": withUser(s.URL(), "w1", "wrong"),
		"process":  withUser(p.url(), "nobody", "wrong"),
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		b, err := natsbus.Open(ctx, u, bus.Options{Logger: quiet()})
		cancel()
		if err == nil {
			b.Close()
		}
		if !errors.Is(err, bus.ErrAuth) {
			t.Errorf("%s: Open with a wrong password: got %v, want ErrAuth", name, err)
		}
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct {
		ws      string
		key     bus.Key
		subject string
	}{
		{"acme", "job.*.*.status.v1", "ws.acme.job.*.*.status.v1"},
		{"acme", "job.e1.#", "ws.acme.job.e1.>"},
		{"acme", "#", "ws.acme.>"},
		{"a.b c", "daemon.heartbeat.v1", "ws.a%2Eb%20c.daemon.heartbeat.v1"},
	} {
		if got := natsbus.Subject(c.ws, c.key); got != c.subject {
			t.Errorf("Subject(%q, %q) = %q, want %q", c.ws, c.key, got, c.subject)
		}
	}
	if a, b := natsbus.StreamName("a_b", "c"), natsbus.StreamName("a", "b_c"); a == b {
		t.Errorf("stream names collide: %q", a)
	}
	if a, b := natsbus.StreamName("x", "AB_"), natsbus.StreamName("x\xab", "5F"); a == b {
		t.Errorf("stream names collide: %q", a)
	}
	if a, b := natsbus.StreamName("a-b", "c"), natsbus.StreamName("a", "b-c"); a == b {
		t.Errorf("stream names collide: %q", a)
	}
	if got := natsbus.StreamName("acme", "device.pi-1"); got != "RL-acme-device_2Epi_2D1" {
		t.Errorf("StreamName = %q", got)
	}
}
