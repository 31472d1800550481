package sqlite_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/sqlite"
)

// On a full disk, a write fails with an error that DiskFull turns into
// EFULL naming the database, and opening a database there fails with it
// too; once space is freed, writes succeed again on the same connection.
func TestDiskFull(t *testing.T) {
	dir := testenv.SmallDisk(t, 16<<20)
	ctx := context.Background()
	path := filepath.Join(dir, "runlet.db")
	db, err := sqlite.Open(ctx, "sqlite:"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ws := runlet.Workspace{Name: "acme"}
	if err := db.CreateWorkspace(ctx, &ws); err != nil {
		t.Fatal(err)
	}
	if err := db.DiskFull(runlet.Errorf(runlet.ECONFLICT, "taken")); runlet.ErrorCode(err) != runlet.ECONFLICT {
		t.Errorf("DiskFull changed another error: %v", err)
	}

	free := testenv.FillDisk(t, dir, 0)
	jobs := bytes.Repeat([]byte("# a comment to take room\n"), 20_000) // 500 KB
	var werr error
	for i := 0; i < 20 && werr == nil; i++ { // until the WAL must grow
		_, werr = db.PutJobs(ctx, ws.ID, jobs, store.AnyVersion)
	}
	err = db.DiskFull(werr)
	if runlet.ErrorCode(err) != runlet.EFULL || !strings.Contains(runlet.ErrorMessage(err), "disk is full (the database at "+path+")") {
		t.Fatalf("a write on a full disk: %v (code %s)", err, runlet.ErrorCode(err))
	}
	if _, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(dir, "other.db"), store.Options{}); runlet.ErrorCode(err) != runlet.EFULL {
		t.Errorf("opening a database on a full disk: %v (code %s), want %s", err, runlet.ErrorCode(err), runlet.EFULL)
	}

	free()
	if _, err := db.PutJobs(ctx, ws.ID, jobs, store.AnyVersion); err != nil {
		t.Fatalf("a write after space was freed: %v", err)
	}
}
