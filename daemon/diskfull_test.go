package daemon

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/wire"
)

// A status the outbox cannot store for lack of space fails with EFULL
// naming the daemon's state directory; once space is freed, it is stored.
func TestOutboxDiskFull(t *testing.T) {
	disk := testenv.SmallDisk(t, 1<<20)
	dir := filepath.Join(disk, "outbox")
	o, err := openOutbox(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	st := wire.Status{Execution: runlet.Execution{ID: "e1", Job: "hi", Device: "pi", Status: runlet.StatusFinished}}

	free := testenv.FillDisk(t, disk, 0)
	err = o.add(st)
	if runlet.ErrorCode(err) != runlet.EFULL || !strings.Contains(err.Error(), "The disk is full (the daemon's state in "+dir+")") {
		t.Fatalf("a status on a full disk: %v", err)
	}

	free()
	if err := o.add(st); err != nil {
		t.Fatalf("after space was freed: %v", err)
	}
	if o.len() != 1 {
		t.Errorf("%d statuses pending, want 1", o.len())
	}
}
