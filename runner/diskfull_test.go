package runner

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
)

// A frame that does not fit on the disk fails with EFULL naming the log,
// leaves no partial record behind, and once space is freed the log goes
// on, readable from the start.
func TestLogDiskFull(t *testing.T) {
	dir := testenv.SmallDisk(t, 1<<20)
	path := filepath.Join(dir, "e1.log")
	w, err := CreateLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	frame := func(seq uint64, n int) Frame {
		return Frame{Seq: seq, Time: time.Unix(0, int64(seq)), Data: bytes.Repeat([]byte{byte('a' + seq)}, n)}
	}
	if err := w.WriteFrame(frame(1, 100)); err != nil {
		t.Fatal(err)
	}

	free := testenv.FillDisk(t, dir, 16<<10)
	err = w.WriteFrame(frame(2, 64<<10))
	if runlet.ErrorCode(err) != runlet.EFULL || !strings.Contains(runlet.ErrorMessage(err), "(the execution log at "+path+")") {
		t.Fatalf("a frame on a full disk: %v", err)
	}
	if got := cannotRecord(err); !strings.HasPrefix(got, "cannot record the output: The disk is full (the execution log at ") {
		t.Errorf("reason %q", got)
	}

	free()
	if err := w.WriteFrame(frame(2, 100)); err != nil {
		t.Fatalf("after space was freed: %v", err)
	}
	r, err := OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for seq := uint64(1); ; seq++ {
		fr, err := r.Next()
		if errors.Is(err, io.EOF) && seq == 3 {
			break
		}
		if err != nil || fr.Seq != seq || len(fr.Data) != 100 {
			t.Fatalf("frame %d: %+v, %v", seq, fr.Seq, err)
		}
	}
}
