package vault_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/blob"
	"github.com/runlet/runlet/blob/connect"
	"github.com/runlet/runlet/blob/dir"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/store"
	"github.com/runlet/runlet/store/postgres"
	"github.com/runlet/runlet/store/sqlite"
	"github.com/runlet/runlet/vault"
)

var quiet = slog.New(slog.DiscardHandler)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingBlobs is the real object store, counting the objects written.
type countingBlobs struct {
	blob.Store
	puts atomic.Int64
}

func (c *countingBlobs) Put(ctx context.Context, key string, r io.Reader, size int64, meta blob.Meta) (blob.Info, error) {
	c.puts.Add(1)
	return c.Store.Put(ctx, key, r, size, meta)
}

// presence is a fixed answer of the server's presence of devices.
type presence []runlet.DevicePresence

func (p presence) Devices(ws string) []runlet.DevicePresence { return p }

type env struct {
	db    store.Store
	blobs *countingBlobs
	clock *clock
	ws    runlet.Workspace
	pi1   runlet.Device
	pi2   runlet.Device
	svc   *vault.Service
}

func newEnv(t *testing.T, dsn string) *env {
	t.Helper()
	d, err := dir.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return newEnvOn(t, dsn, d)
}

// newEnvOn is newEnv with the store at dsn ("": SQLite) and the object
// store b.
func newEnvOn(t *testing.T, dsn string, b blob.Store) *env {
	t.Helper()
	ctx := t.Context()
	c := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	var db store.Store
	var err error
	if dsn == "" {
		db, err = sqlite.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "runlet.db"), store.Options{Now: c.Now})
	} else {
		db, err = postgres.Open(ctx, dsn, store.Options{Now: c.Now})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{db: db, blobs: &countingBlobs{Store: b}, clock: c}
	e.ws = runlet.Workspace{Name: "default"}
	if err := db.CreateWorkspace(ctx, &e.ws); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*runlet.Device{&e.pi1, &e.pi2} {
		d.Workspace, d.Name = e.ws.ID, "pi-1"
		if d == &e.pi2 {
			d.Name = "pi-2"
		}
		if err := db.CreateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	// The store keeps what the service checked; scrypt is slow under -race.
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddLogKey(ctx, e.ws.ID, 0, &runlet.LogKey{Recipient: id.Recipient().String(), Sealed: "sealed"}, nil); err != nil {
		t.Fatal(err)
	}
	e.svc = e.service(t, "a", nil)
	return e
}

func (e *env) service(t *testing.T, holder string, p vault.Presence) *vault.Service {
	t.Helper()
	s, err := vault.New(vault.Config{Store: e.db, Blobs: e.blobs, Presence: p, Now: e.clock.Now, Logger: quiet, Holder: holder})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// run stores a run of the job on the devices with the status.
func (e *env) run(t *testing.T, status runlet.Status, devices ...string) string {
	t.Helper()
	var id string
	for _, d := range devices {
		x := runlet.Execution{ID: id, Workspace: e.ws.ID, Job: "hello", Device: d, Status: runlet.StatusPending}
		if err := e.db.CreateExecution(t.Context(), &x); err != nil {
			t.Fatal(err)
		}
		id = x.ID
		if status != runlet.StatusPending {
			if _, _, err := e.db.UpdateExecutionStatus(t.Context(), e.ws.ID, id, d, store.StatusUpdate{Status: status}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return id
}

func (e *env) upload(t *testing.T, dev runlet.Device, exec string, body []byte) (runlet.LogObject, error) {
	t.Helper()
	sum := sha256.Sum256(body)
	return e.svc.Upload(t.Context(), vault.Upload{
		Workspace: e.ws.ID, Caller: &dev, Execution: exec, Device: dev.Name,
		Body: bytes.NewReader(body), Size: int64(len(body)),
		Meta: api.LogUpload{SHA256: hex.EncodeToString(sum[:]), Modified: e.clock.Now().Add(-time.Second),
			State: runlet.LogInterrupted, Generation: 1, Segments: 1},
	})
}

func TestObjectKey(t *testing.T) {
	k := vault.ObjectKey("ws1", "exec1", "dev1")
	if k != "ws/ws1/logs/exec1/dev1.rcast" {
		t.Errorf("ObjectKey = %q", k)
	}
	if err := blob.CheckKey(k); err != nil {
		t.Errorf("the object store refuses %q: %v", k, err)
	}
}

// TestUpload: the object, then its record; the same log again writes
// nothing; another log replaces it; what does not match is not kept.
func TestUpload(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres", "minio"} {
		t.Run(db, func(t *testing.T) {
			var e *env
			switch db {
			case "postgres":
				e = newEnv(t, testenv.Postgres(t))
			case "minio":
				b, err := connect.Open(t.Context(), testenv.MinIO(t).URL())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { b.Close() })
				e = newEnvOn(t, "", b)
			default:
				e = newEnv(t, "")
			}
			ctx := t.Context()
			exec := e.run(t, runlet.StatusFinished, "pi-1")
			o, err := e.upload(t, e.pi1, exec, []byte("first"))
			if err != nil {
				t.Fatal(err)
			}
			if o.Device != e.pi1.ID || o.DeviceName != "pi-1" || o.State != runlet.LogInterrupted || o.Size != 5 {
				t.Errorf("record %+v", o)
			}
			info, err := e.blobs.Stat(ctx, vault.ObjectKey(e.ws.ID, exec, e.pi1.ID))
			if err != nil || info.SHA256 != o.SHA256 || !info.Modified.Equal(o.Modified) {
				t.Errorf("object %+v, %v; want the record's sha256 and time", info, err)
			}
			e.clock.Advance(time.Minute)
			again, err := e.upload(t, e.pi1, exec, []byte("first"))
			if err != nil || !again.Uploaded.Equal(o.Uploaded) || e.blobs.puts.Load() != 1 {
				t.Errorf("the same log again: %+v, %v, %d puts; want the first record, one put", again, err, e.blobs.puts.Load())
			}
			// The object lost since (an operator's mistake): the same log
			// again makes it whole.
			key := vault.ObjectKey(e.ws.ID, exec, e.pi1.ID)
			if err := e.blobs.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			if _, err := e.upload(t, e.pi1, exec, []byte("first")); err != nil || e.blobs.puts.Load() != 2 {
				t.Errorf("the same log again after its object was lost: %v, %d puts; want it written again", err, e.blobs.puts.Load())
			}
			if _, err := e.blobs.Stat(ctx, key); err != nil {
				t.Errorf("the object after it was uploaded again: %v", err)
			}
			second, err := e.upload(t, e.pi1, exec, []byte("second, complete"))
			if err != nil || second.SHA256 == o.SHA256 || !second.Uploaded.After(o.Uploaded) {
				t.Errorf("another log: %+v, %v", second, err)
			}
			rc, got, err := e.svc.Open(ctx, e.ws.ID, exec, "pi-1", 8, -1)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if string(b) != "complete" || got.SHA256 != second.SHA256 {
				t.Errorf("open from 8: %q %+v", b, got)
			}

			// Refused: another device, a person, the wrong body.
			_, err = e.upload(t, e.pi2, exec, []byte("x"))
			if runlet.ErrorCode(err) != runlet.ENOTFOUND {
				t.Errorf("pi-2 uploads for a run not on it: %v", err)
			}
			_, err = e.svc.Upload(ctx, vault.Upload{Workspace: e.ws.ID, Caller: &e.pi2, Execution: exec, Device: "pi-1"})
			if runlet.ErrorCode(err) != runlet.EFORBIDDEN {
				t.Errorf("pi-2 uploads as pi-1: %v", err)
			}
			_, err = e.svc.Upload(ctx, vault.Upload{Workspace: e.ws.ID, Execution: exec, Device: "pi-1"})
			if runlet.ErrorCode(err) != runlet.EFORBIDDEN {
				t.Errorf("a person uploads: %v", err)
			}
			other := e.run(t, runlet.StatusFinished, "pi-1")
			_, err = e.svc.Upload(ctx, vault.Upload{Workspace: e.ws.ID, Caller: &e.pi1, Execution: other, Device: "pi-1",
				Body: strings.NewReader("short"), Size: 10,
				Meta: api.LogUpload{SHA256: strings.Repeat("0", 64), Modified: e.clock.Now(), State: runlet.LogUploaded, Generation: 1}})
			if runlet.ErrorCode(err) != runlet.EINVALID {
				t.Errorf("a short body: %v", err)
			}
			if _, err := e.svc.Object(ctx, e.ws.ID, other, "pi-1"); runlet.ErrorCode(err) != runlet.ENOTFOUND {
				t.Errorf("the record of a refused upload: %v", err)
			}
			if _, err := e.blobs.Stat(ctx, vault.ObjectKey(e.ws.ID, other, e.pi1.ID)); runlet.ErrorCode(err) != runlet.ENOTFOUND {
				t.Errorf("the object of a refused upload: %v", err)
			}
		})
	}
}

// TestOrphans: an object without a record goes once two sweeps found it
// so and it is older than a day; a young one, one with a record and what
// is not a log's stay.
func TestOrphans(t *testing.T) {
	e := newEnv(t, "")
	ctx := t.Context()
	exec := e.run(t, runlet.StatusFinished, "pi-1")
	if _, err := e.upload(t, e.pi1, exec, []byte("recorded")); err != nil {
		t.Fatal(err)
	}
	put := func(key string, modified time.Time) {
		body := []byte("orphan " + key)
		sum := sha256.Sum256(body)
		if _, err := e.blobs.Put(ctx, key, bytes.NewReader(body), int64(len(body)), blob.Meta{SHA256: hex.EncodeToString(sum[:]), Modified: modified}); err != nil {
			t.Fatal(err)
		}
	}
	old := vault.ObjectKey(e.ws.ID, "gone", e.pi1.ID)
	young := vault.ObjectKey(e.ws.ID, "young", e.pi1.ID)
	stranger := "ws/" + e.ws.ID + "/logs/readme.txt"
	put(old, e.clock.Now().Add(-48*time.Hour))
	put(young, e.clock.Now())
	put(stranger, e.clock.Now().Add(-48*time.Hour))
	exists := func(key string) bool {
		_, err := e.blobs.Stat(ctx, key)
		return err == nil
	}
	if err := e.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if !exists(old) {
		t.Error("an orphan went at its first sweep: it may be an upload whose record comes next")
	}
	e.clock.Advance(time.Hour)
	if err := e.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{old: false, young: true, stranger: true, vault.ObjectKey(e.ws.ID, exec, e.pi1.ID): true} {
		if exists(key) != want {
			t.Errorf("%s exists: %v, want %v", key, !want, want)
		}
	}
}

// TestSweepOneServer: only the lease's holder sweeps; when it closes,
// the other takes over.
func TestSweepOneServer(t *testing.T) {
	e := newEnv(t, "")
	ctx := t.Context()
	b := e.service(t, "b", nil)
	if err := e.svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetLogSettings(ctx, e.ws.ID, runlet.LogSettings{Retention: runlet.Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	exec := e.run(t, runlet.StatusFinished, "pi-1")
	if _, err := e.upload(t, e.pi1, exec, []byte("expires")); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(90 * time.Minute) // expired, and a's lease (two sweeps) holds
	if err := b.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Object(ctx, e.ws.ID, exec, "pi-1"); err != nil {
		t.Errorf("swept by the server without the lease: %v", err)
	}
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Object(ctx, e.ws.ID, exec, "pi-1"); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("after the holder closed, the other's sweep: %v; want the log gone", err)
	}
}

// TestExecutionLogs: each target's log, or why there is none, for people.
func TestExecutionLogs(t *testing.T) {
	e := newEnv(t, "")
	ctx := t.Context()
	since := e.clock.Now().Add(-90 * time.Minute)
	svc := e.service(t, "c", presence{{Name: "pi-1", Online: true, Since: since}, {Name: "pi-2", Online: false, Since: since}})
	want := func(exec string, pending ...string) {
		t.Helper()
		got, err := svc.ExecutionLogs(ctx, e.ws.ID, exec)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Logs) != len(pending) {
			t.Fatalf("%d logs, want %d: %+v", len(got.Logs), len(pending), got)
		}
		for i, l := range got.Logs {
			if (pending[i] == "") != (l.Object != nil) || !strings.Contains(l.Pending, pending[i]) {
				t.Errorf("%s: object %v, pending %q; want %q", l.Device, l.Object, l.Pending, pending[i])
			}
		}
	}
	want(e.run(t, runlet.StatusPending, "pi-1"), "has not started")
	want(e.run(t, runlet.StatusRunning, "pi-1", "pi-2"), "still going", "still going")
	done := e.run(t, runlet.StatusFinished, "pi-1", "pi-2")
	want(done, "pi-1 is uploading", "pi-2 is offline since 2026-12-07 08:30:00 UTC and has not uploaded it yet")
	if _, err := e.upload(t, e.pi1, done, []byte("log")); err != nil {
		t.Fatal(err)
	}
	want(done, "", "pi-2 is offline")
	if _, err := svc.ExecutionLogs(ctx, e.ws.ID, "nope"); runlet.ErrorCode(err) != runlet.ENOTFOUND {
		t.Errorf("an unknown run: %v", err)
	}
	// A workspace without a key says so.
	ws := runlet.Workspace{Name: "keyless"}
	if err := e.db.CreateWorkspace(ctx, &ws); err != nil {
		t.Fatal(err)
	}
	x := runlet.Execution{Workspace: ws.ID, Job: "hello", Device: "tv", Status: runlet.StatusPending}
	if err := e.db.CreateExecution(ctx, &x); err != nil {
		t.Fatal(err)
	}
	got, err := svc.ExecutionLogs(ctx, ws.ID, x.ID)
	if err != nil || len(got.Logs) != 1 || !strings.Contains(got.Logs[0].Pending, "no log key") {
		t.Errorf("a workspace without a key: %+v, %v", got, err)
	}
	if a, err := svc.ActiveKey(ctx, ws.ID); err != nil || a.Generation != 0 || a.Recipient != "" || time.Duration(a.Retention) != runlet.DefaultLogRetention {
		t.Errorf("its active key: %+v, %v", a, err)
	}
}
