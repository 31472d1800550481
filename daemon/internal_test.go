package daemon

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/wire"
)

func TestDevicePatternsAndExecOfKey(t *testing.T) {
	for _, exec := range []string{"01jabcdefghjkmnpqrstvwxyz0", "a.b_c-d"} {
		for _, k := range []bus.Key{bus.InputKey(exec, "pi 1"), bus.ControlKey(exec, "pi 1")} {
			if got := execOfKey(k); got != exec {
				t.Errorf("execOfKey(%s) = %q, want %q", k, got, exec)
			}
		}
		if !bus.Match(bus.InputPatternForDevice("pi 1"), bus.InputKey(exec, "pi 1")) ||
			!bus.Match(bus.ControlPatternForDevice("pi 1"), bus.ControlKey(exec, "pi 1")) {
			t.Errorf("the device patterns miss the keys of execution %s", exec)
		}
		if bus.Match(bus.InputPatternForDevice("pi-2"), bus.InputKey(exec, "pi 1")) ||
			bus.Match(bus.ControlPatternForDevice("pi 1"), bus.InputKey(exec, "pi 1")) {
			t.Errorf("a device pattern matches a key it must not")
		}
	}
	for _, p := range []bus.Key{bus.InputPatternForDevice("pi.1"), bus.ControlPatternForDevice("pi.1")} {
		if err := p.Validate(true); err != nil {
			t.Error(err)
		}
	}
	if got := execOfKey(bus.HeartbeatKey("pi")); got != "" {
		t.Errorf("execOfKey(heartbeat) = %q", got)
	}
}

func TestOutboxKeepsOrderAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	o, err := openOutbox(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	want := []runlet.Status{runlet.StatusPending, runlet.StatusRunning, runlet.StatusFinished}
	for _, s := range want {
		if err := o.add(wire.Status{Execution: runlet.Execution{ID: "x", Device: "d", Status: s}}); err != nil {
			t.Fatal(err)
		}
	}
	o2, err := openOutbox(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	sts := o2.statuses()
	if len(sts) != len(want) {
		t.Fatalf("reopened outbox holds %d statuses, want %d", len(sts), len(want))
	}
	for i, st := range sts {
		if st.Status != want[i] {
			t.Errorf("status %d is %s, want %s", i, st.Status, want[i])
		}
	}
	// A later daemon numbers after what it found.
	if err := o2.add(wire.Status{Execution: runlet.Execution{ID: "y", Device: "d", Status: runlet.StatusPending}}); err != nil {
		t.Fatal(err)
	}
	o3, err := openOutbox(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if sts := o3.statuses(); len(sts) != len(want)+1 || sts[len(sts)-1].ID != "y" {
		t.Errorf("the status a later daemon added does not come last: %+v", sts)
	}
}

// A status a daemon from before package outbox left in its outbox (a
// wire.Status in JSON) is still sent, with its usual id and key.
func TestOutboxReadsOlderEntries(t *testing.T) {
	dir := t.TempDir()
	old := wire.Status{Execution: runlet.Execution{ID: "x", Device: "d", Status: runlet.StatusFinished}, LastSeq: 4}
	b, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000001.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := openOutbox(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := o.latest("x"); !ok || st.Status != runlet.StatusFinished || st.LastSeq != 4 {
		t.Fatalf("latest status of x: %+v, %v", st, ok)
	}
	if m := o.q.Pending()[0]; m.ID != statusMessageID(old) || m.Key != bus.StatusKey("x", "d") {
		t.Errorf("message %s on %s", m.ID, m.Key)
	}
}
