package storetest

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// Migrated is a store that tells its schema version and gives SQL access,
// as the dialects do.
type Migrated interface {
	store.Store
	SchemaVersion(ctx context.Context) (int, error)
	SQL() *sql.DB
}

// afterMigration7 keeps the migrations from 8 on recorded when a test runs
// earlier ones again.
const afterMigration7 = ` AND version <= 7`

// RunMigrations tests the migrations of a dialect on one database: open
// migrates it and records the version, opening again changes nothing and
// keeps the data, and a database migrated by a newer runlet is refused.
// open opens the same database each time it is called.
func RunMigrations(t *testing.T, latest int, open func(ctx context.Context) (Migrated, error)) {
	ctx := t.Context()
	db, err := open(ctx)
	ok(t, err)
	version := func(db Migrated) int {
		t.Helper()
		v, err := db.SchemaVersion(ctx)
		ok(t, err)
		var n int
		ok(t, db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n))
		equal(t, "rows of schema_migrations", n, v) // one per migration, none twice
		return v
	}
	equal(t, "schema version", version(db), latest)
	ws := runlet.Workspace{Name: "default"}
	ok(t, db.CreateWorkspace(ctx, &ws))
	ok(t, db.Close())

	db, err = open(ctx)
	ok(t, err)
	equal(t, "schema version after reopening", version(db), latest)
	got, err := db.WorkspaceByName(ctx, "default")
	ok(t, err)
	equal(t, "workspace kept", got.ID, ws.ID)

	// A job set saved before the history existed (migration 4) starts it.
	// Migrations 4 to 7 run again (they create what is missing); 8 and
	// later add columns, which cannot be added twice, so they stay
	// recorded (afterMigration7).
	_, err = db.PutJobs(ctx, ws.ID, []byte("old: echo old\n"), 0)
	ok(t, err)
	for _, q := range []string{`DROP TABLE job_versions`, `DELETE FROM schema_migrations WHERE version >= 4` + afterMigration7} {
		_, err = db.SQL().ExecContext(ctx, q)
		ok(t, err)
	}
	ok(t, db.Close())
	db, err = open(ctx)
	ok(t, err)
	equal(t, "schema version after migrating the history", version(db), latest)
	v, src, err := db.JobVersion(ctx, ws.ID, 1)
	ok(t, err)
	equal(t, "the job set before the history", []any{v.Version, v.Jobs, string(src)}, []any{int64(1), -1, "old: echo old\n"})

	// Executions stored before the runs table (migration 6) are runs,
	// each with the job, client and created time of its first target.
	id := store.NewID()
	first := &runlet.Execution{Workspace: ws.ID, ID: id, Job: "deploy", Client: "ada@example.com", Device: "pi-2"}
	ok(t, db.CreateExecution(ctx, first))
	ok(t, db.CreateExecution(ctx, &runlet.Execution{Workspace: ws.ID, ID: id, Job: "deploy", Client: "ada@example.com", Device: "pi-1",
		Created: first.Created.Add(time.Second)}))
	for _, q := range []string{`DROP TABLE runs`, `DELETE FROM schema_migrations WHERE version >= 6` + afterMigration7} {
		_, err = db.SQL().ExecContext(ctx, q)
		ok(t, err)
	}
	ok(t, db.Close())
	db, err = open(ctx)
	ok(t, err)
	equal(t, "schema version after migrating the runs", version(db), latest)
	page, err := db.ListRuns(ctx, ws.ID, store.RunFilter{})
	ok(t, err)
	if len(page.Runs) != 1 {
		t.Fatalf("runs after migrating: %+v, want one", page.Runs)
	}
	r := page.Runs[0]
	equal(t, "the run of executions stored before", []any{r.ID, r.Job, r.Client, r.Created.Equal(first.Created), len(r.Targets)},
		[]any{id, "deploy", "ada@example.com", true, 2})

	_, err = db.SQL().ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied)
		SELECT 9999, '9999_future.sql', applied FROM schema_migrations WHERE version = 1`)
	ok(t, err)
	ok(t, db.Close())
	db, err = open(ctx)
	if err == nil {
		db.Close()
		t.Fatal("opened a database with a newer schema")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Fatalf("error for a newer schema does not say so: %v", err)
	}
}
