package nats_test

import (
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/bus/bustest"
	"github.com/runlet/runlet/internal/testenv"
)

// TestContractEmbeddedMetered runs the contract suite with every principal
// on a metered connection (bus.Options.Metered): consumers pull with one
// long Fetch at a time instead of jetstream's Messages.
func TestContractEmbeddedMetered(t *testing.T) {
	s := startEmbedded(t)
	bustest.Run(t, bustest.Harness{
		Open: func(t testing.TB, wss ...string) bus.Bus {
			if len(wss) != 1 {
				t.Fatalf("the embedded harness opens principals of one workspace, not %v", wss)
			}
			return open(t, withUser(s.URL(), wss[0], testPassword), bus.Options{Name: t.Name(), Metered: true})
		},
		OpenDevice: func(t testing.TB, ws, device string) bus.Bus {
			return open(t, withUser(s.URL(), "device:"+ws+":"+device, testPassword), bus.Options{Name: t.Name(), Metered: true})
		},
		Workspace: func(testing.TB) string { return testenv.RandomName("w") },
		AckWait:   2 * time.Second,
	})
}

// metered is whether a test named …/metered runs on metered connections:
// the restart tests run both ways.
func metered(t *testing.T) bool { return strings.HasSuffix(t.Name(), "/metered") }

func TestRestartEmbeddedMetered(t *testing.T) {
	t.Run("metered", TestRestartEmbedded)
}

func TestServerLosesStreamsMetered(t *testing.T) {
	t.Run("metered", TestServerLosesStreams)
}
