package daemon

import (
	"log/slog"
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
	if len(o2.pending) != len(want) {
		t.Fatalf("reopened outbox holds %d statuses, want %d", len(o2.pending), len(want))
	}
	for i, e := range o2.pending {
		if e.st.Status != want[i] {
			t.Errorf("status %d is %s, want %s", i, e.st.Status, want[i])
		}
	}
	// A later daemon numbers after what it found.
	if err := o2.add(wire.Status{Execution: runlet.Execution{ID: "y", Device: "d", Status: runlet.StatusPending}}); err != nil {
		t.Fatal(err)
	}
	if last := o2.pending[len(o2.pending)-1]; last.file <= o2.pending[len(want)-1].file {
		t.Errorf("new file %s sorts before %s", last.file, o2.pending[len(want)-1].file)
	}
}
