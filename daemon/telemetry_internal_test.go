package daemon

import (
	"log/slog"
	"net"
	"testing"
)

// TestListenAuto: a second daemon on the machine finds the default
// address of the readings endpoint taken and listens on a free loopback
// port instead; an address given explicitly is never replaced.
func TestListenAuto(t *testing.T) {
	first, err := listenReadings(ListenAuto, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := listenReadings(ListenAuto, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("a second daemon: %v", err)
	}
	defer second.Close()
	if first.Addr().String() == second.Addr().String() {
		t.Fatalf("both on %s", first.Addr())
	}
	if host, _, _ := net.SplitHostPort(second.Addr().String()); host != "127.0.0.1" {
		t.Errorf("the fallback listens on %s, not loopback", second.Addr())
	}
	taken := second.Addr().String()
	if ln, err := listenReadings(taken, slog.New(slog.DiscardHandler)); err == nil {
		ln.Close()
		t.Errorf("listened on %s, which is taken", taken)
	}
}
