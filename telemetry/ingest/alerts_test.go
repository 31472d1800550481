package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/telemetry/ingest"
)

// alertsJournal is the alert service as the pipeline sees it: it records
// what it is told in the journal, and fails the first fails batches.
type alertsJournal struct {
	j     *journal
	mu    sync.Mutex
	fails int
	rs    [][]runlet.RawReading
}

func (a *alertsJournal) Readings(ctx context.Context, ws string, rs []runlet.RawReading) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fails > 0 {
		a.fails--
		a.j.add("alerts failed")
		return errors.New("the alerts' store is down")
	}
	a.j.add(fmt.Sprintf("alerts %d", len(rs)))
	a.rs = append(a.rs, slices.Clone(rs))
	return nil
}

func (a *alertsJournal) Refused(ws, device, reason string, n int64) {
	a.j.add(fmt.Sprintf("refused %s %s %d", device, reason, n))
}

// TestAlertsAfterCommit: the alert service is told of the readings after
// the commit and before the ack; when it fails, the batch is given back
// and comes again (committed twice, which the store makes harmless), and
// the readings refused for bad credentials are told once the delivery is
// acked.
func TestAlertsAfterCommit(t *testing.T) {
	j := &journal{}
	al := &alertsJournal{j: j, fails: 1}
	e := newEnv(t, sqliteNATS, func(e *env, cfg *ingest.Config) {
		cfg.Store = &flakyStore{Store: e.db, j: j}
		cfg.Bus = &journalBus{Bus: e.bus, j: j}
		cfg.Alerts = al
	})
	e.sensor(t, e.ws, 1, secret(1), runlet.SensorActive)
	e.sensor(t, e.ws, 2, secret(2), runlet.SensorActive)
	e.sensor(t, e.other, 3, secret(3), runlet.SensorActive)
	e.start(t)
	b := batchOf(readings(1, 1, 0, 3), readings(2, 4, 0, 2), readings(3, 6, 0, 1))
	b.Secrets[2] = "wrong"
	e.send(t, "pi", b)
	e.await(t, "the batch stored after the alerts' failure", func(s ingest.Stats) bool { return s.Accepted == 3 })
	testenv.Eventually(t, "the refusals told", patience, func() bool { return len(j.get()) >= 8 })
	want := []string{"commit", "alerts failed", "nack", "commit", "alerts 3", "ack", "refused pi bad_secret 2", "refused pi other_workspace 1"}
	if got := j.get(); !slices.Equal(got, want) {
		t.Errorf("told %q, want %q", got, want)
	}
	if len(al.rs) != 1 || al.rs[0][0].Device != "pi" || al.rs[0][0].Sensor != 1 {
		t.Errorf("the alerts were given %+v", al.rs)
	}
}
