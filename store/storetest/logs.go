package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// Run logs (issue 15, R-LOG-1 to R-LOG-3): store.Logs.

// sealedText stands for an armored age file; the store does not open it.
func sealedText(s string) string {
	return "-----BEGIN AGE ENCRYPTED FILE-----\n" + s + "\n-----END AGE ENCRYPTED FILE-----\n"
}

// digest is a valid sha256 hex digest made of c.
func digest(c byte) string { return strings.Repeat(string(c), 64) }

// testLogKeys: LogKeys and AddLogKey, a rotation re-sealing older
// generations, and every error.
func testLogKeys(t *testing.T, e *env) {
	ws, other := e.workspace(t, "default"), e.workspace(t, "other")
	ada := e.user(t, "ada@example.com")
	ks, err := e.LogKeys(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "log keys of a workspace that made none", len(ks), 0)
	_, err = e.LogKeys(e.ctx, "nowhere")
	code(t, err, runlet.ENOTFOUND)
	code(t, e.AddLogKey(e.ctx, "nowhere", 0, &runlet.LogKey{Recipient: "age1nowhere", Sealed: sealedText("x")}, nil), runlet.ENOTFOUND)
	code(t, e.AddLogKey(e.ctx, "nowhere", 3, &runlet.LogKey{Recipient: "age1nowhere", Sealed: sealedText("x")}, nil), runlet.ENOTFOUND)
	code(t, e.AddLogKey(e.ctx, ws.ID, 0, &runlet.LogKey{Sealed: sealedText("x")}, nil), runlet.EINVALID)
	code(t, e.AddLogKey(e.ctx, ws.ID, 0, &runlet.LogKey{Recipient: "age1one", Sealed: " "}, nil), runlet.EINVALID)
	code(t, e.AddLogKey(e.ctx, ws.ID, -1, &runlet.LogKey{Recipient: "age1one", Sealed: sealedText("x")}, nil), runlet.EINVALID)
	code(t, e.AddLogKey(e.ctx, ws.ID, 1, &runlet.LogKey{Recipient: "age1one", Sealed: sealedText("x")}, nil), runlet.ECONFLICT)

	first := runlet.LogKey{Recipient: "age1one", Sealed: sealedText("one"), CreatedBy: ada.ID}
	ok(t, e.AddLogKey(e.ctx, ws.ID, 0, &first, nil))
	created := e.clock.Now().Truncate(time.Microsecond)
	equal(t, "the first generation", first, runlet.LogKey{Generation: 1, Recipient: "age1one", Sealed: sealedText("one"),
		Created: created, CreatedBy: ada.ID})
	ks, err = e.LogKeys(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "log keys after init", ks, []runlet.LogKey{first})
	code(t, e.AddLogKey(e.ctx, ws.ID, 0, &runlet.LogKey{Recipient: "age1again", Sealed: sealedText("x")}, nil), runlet.ECONFLICT)
	code(t, e.AddLogKey(e.ctx, ws.ID, 2, &runlet.LogKey{Recipient: "age1ahead", Sealed: sealedText("x")}, nil), runlet.ECONFLICT)

	// A rotation re-seals the older generations with the new passphrase.
	e.clock.Advance(time.Hour)
	second := runlet.LogKey{Recipient: "age1two", Sealed: sealedText("two")}
	ok(t, e.AddLogKey(e.ctx, ws.ID, 1, &second, map[int64]string{1: sealedText("one, re-sealed")}))
	equal(t, "the second generation", []any{second.Generation, second.Created}, []any{int64(2), created.Add(time.Hour)})
	third := runlet.LogKey{Recipient: "age1three", Sealed: sealedText("three")}
	ok(t, e.AddLogKey(e.ctx, ws.ID, 2, &third, map[int64]string{2: sealedText("two, re-sealed")})) // 1 keeps its text
	ks, err = e.LogKeys(e.ctx, ws.ID)
	ok(t, err)
	first.Sealed, second.Sealed = sealedText("one, re-sealed"), sealedText("two, re-sealed")
	equal(t, "log keys after two rotations, oldest first", ks, []runlet.LogKey{first, second, third})

	// A rotation that fails changes nothing.
	for name, resealed := range map[string]map[int64]string{
		"a generation after the active one": {1: sealedText("x"), 4: sealedText("x")},
		"generation 0":                      {0: sealedText("x")},
		"an empty text":                     {2: ""},
	} {
		err := e.AddLogKey(e.ctx, ws.ID, 3, &runlet.LogKey{Recipient: "age1four", Sealed: sealedText("four")}, resealed)
		if runlet.ErrorCode(err) != runlet.EINVALID {
			t.Fatalf("re-sealing %s: error %v, want %s", name, err, runlet.EINVALID)
		}
	}
	ks, err = e.LogKeys(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "log keys after refused rotations", ks, []runlet.LogKey{first, second, third})

	// Workspaces number their keys apart.
	theirs := runlet.LogKey{Recipient: "age1theirs", Sealed: sealedText("theirs")}
	ok(t, e.AddLogKey(e.ctx, other.ID, 0, &theirs, nil))
	equal(t, "the other workspace's first generation", theirs.Generation, int64(1))
	ks, err = e.LogKeys(e.ctx, other.ID)
	ok(t, err)
	equal(t, "the other workspace's keys", ks, []runlet.LogKey{theirs})
}

// testLogKeyRace: rotations from the same generation at once, exactly
// one of which wins; the others get ECONFLICT and change nothing.
func testLogKeyRace(t *testing.T, e *env) {
	ws := e.workspace(t, "default")
	ok(t, e.AddLogKey(e.ctx, ws.ID, 0, &runlet.LogKey{Recipient: "age1one", Sealed: sealedText("one")}, nil))
	const rotators = 16
	errs := make([]error, rotators)
	var wg sync.WaitGroup
	for i := range rotators {
		wg.Go(func() {
			k := runlet.LogKey{Recipient: fmt.Sprint("age1rotator", i), Sealed: sealedText(fmt.Sprint("rotator ", i))}
			errs[i] = e.AddLogKey(e.ctx, ws.ID, 1, &k, map[int64]string{1: sealedText(fmt.Sprint("one, re-sealed by ", i))})
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch runlet.ErrorCode(err) {
		case "":
			if winner >= 0 {
				t.Fatalf("rotators %d and %d both rotated from generation 1", winner, i)
			}
			winner = i
		case runlet.ECONFLICT:
		default:
			t.Fatalf("rotator %d: %v, want success or %s", i, err, runlet.ECONFLICT)
		}
	}
	if winner < 0 {
		t.Fatal("no rotator rotated")
	}
	ks, err := e.LogKeys(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "keys after racing rotations", len(ks), 2)
	equal(t, "the winner's keys", []string{ks[0].Sealed, ks[1].Recipient},
		[]string{sealedText(fmt.Sprint("one, re-sealed by ", winner)), fmt.Sprint("age1rotator", winner)})
}

// testLogObjects: PutLogObject, LogObject, LogObjects and
// DeleteLogObject.
func testLogObjects(t *testing.T, e *env) {
	ws, other := e.workspace(t, "default"), e.workspace(t, "other")
	exec := store.NewID()
	modified := time.Date(2026, 3, 4, 5, 0, 0, 123456789, time.FixedZone("CET", 3600))
	pi2 := runlet.LogObject{Workspace: ws.ID, Execution: exec, Device: "dev-b", DeviceName: "pi-2", State: runlet.LogUploaded,
		Size: 4096, SHA256: digest('a'), Modified: modified, Generation: 1, Segments: 3}

	for name, change := range map[string]func(o *runlet.LogObject){
		"no execution":       func(o *runlet.LogObject) { o.Execution = "" },
		"no device":          func(o *runlet.LogObject) { o.Device = "" },
		"an unknown state":   func(o *runlet.LogObject) { o.State = "lost" },
		"no state":           func(o *runlet.LogObject) { o.State = "" },
		"a negative size":    func(o *runlet.LogObject) { o.Size = -1 },
		"a short digest":     func(o *runlet.LogObject) { o.SHA256 = digest('a')[:63] },
		"an upper-case hash": func(o *runlet.LogObject) { o.SHA256 = digest('A') },
		"no digest":          func(o *runlet.LogObject) { o.SHA256 = "" },
		"negative segments":  func(o *runlet.LogObject) { o.Segments = -1 },
	} {
		o := pi2
		change(&o)
		if err := e.PutLogObject(e.ctx, &o); runlet.ErrorCode(err) != runlet.EINVALID {
			t.Fatalf("a log record with %s: error %v, want %s", name, err, runlet.EINVALID)
		}
	}
	nowhere := pi2
	nowhere.Workspace = "nowhere"
	code(t, e.PutLogObject(e.ctx, &nowhere), runlet.ENOTFOUND)
	_, err := e.LogObject(e.ctx, ws.ID, exec, "dev-b")
	code(t, err, runlet.ENOTFOUND)
	objs, err := e.LogObjects(e.ctx, ws.ID, exec)
	ok(t, err)
	equal(t, "logs of an execution before any upload", len(objs), 0)

	ok(t, e.PutLogObject(e.ctx, &pi2))
	now := e.clock.Now().Truncate(time.Microsecond)
	equal(t, "the record as stored", pi2, runlet.LogObject{Workspace: ws.ID, Execution: exec, Device: "dev-b", DeviceName: "pi-2",
		State: runlet.LogUploaded, Size: 4096, SHA256: digest('a'), Modified: modified.UTC().Truncate(time.Microsecond),
		Uploaded: now, Generation: 1, Segments: 3})
	got, err := e.LogObject(e.ctx, ws.ID, exec, "dev-b")
	ok(t, err)
	equal(t, "the record read", got, pi2)

	// Another device's log of the execution, listed by device name; a log
	// without a modification time keeps none.
	e.clock.Advance(time.Minute)
	pi1 := runlet.LogObject{Workspace: ws.ID, Execution: exec, Device: "dev-z", DeviceName: "pi-1", State: runlet.LogInterrupted,
		Size: 0, SHA256: digest('0'), Generation: 2}
	ok(t, e.PutLogObject(e.ctx, &pi1))
	equal(t, "a record without modification time", []any{pi1.Modified.IsZero(), pi1.Uploaded}, []any{true, now.Add(time.Minute)})
	elsewhere := runlet.LogObject{Workspace: other.ID, Execution: exec, Device: "dev-a", DeviceName: "pi-0", State: runlet.LogUploaded,
		Size: 1, SHA256: digest('1'), Generation: 1}
	ok(t, e.PutLogObject(e.ctx, &elsewhere))
	later := runlet.LogObject{Workspace: ws.ID, Execution: store.NewID(), Device: "dev-b", DeviceName: "pi-2", State: runlet.LogUploaded,
		Size: 2, SHA256: digest('2'), Generation: 1}
	ok(t, e.PutLogObject(e.ctx, &later))
	objs, err = e.LogObjects(e.ctx, ws.ID, exec)
	ok(t, err)
	equal(t, "logs of the execution, by device name", objs, []runlet.LogObject{pi1, pi2})
	_, err = e.LogObject(e.ctx, other.ID, exec, "dev-b")
	code(t, err, runlet.ENOTFOUND)

	// A second upload of a log replaces its record.
	e.clock.Advance(time.Minute)
	again := pi2
	again.State, again.Size, again.SHA256, again.Segments, again.Modified = runlet.LogInterrupted, 8192, digest('b'), 5, modified.Add(time.Second)
	ok(t, e.PutLogObject(e.ctx, &again))
	equal(t, "the replacing upload's time", again.Uploaded, now.Add(2*time.Minute))
	got, err = e.LogObject(e.ctx, ws.ID, exec, "dev-b")
	ok(t, err)
	equal(t, "the replaced record", got, again)

	ok(t, e.DeleteLogObject(e.ctx, ws.ID, exec, "dev-b"))
	ok(t, e.DeleteLogObject(e.ctx, ws.ID, exec, "dev-b")) // missing: no error
	ok(t, e.DeleteLogObject(e.ctx, "nowhere", exec, "dev-b"))
	_, err = e.LogObject(e.ctx, ws.ID, exec, "dev-b")
	code(t, err, runlet.ENOTFOUND)
	objs, err = e.LogObjects(e.ctx, ws.ID, exec)
	ok(t, err)
	equal(t, "logs of the execution after a delete", objs, []runlet.LogObject{pi1})
	got, err = e.LogObject(e.ctx, other.ID, exec, "dev-a")
	ok(t, err)
	equal(t, "the other workspace's record, kept", got, elsewhere)
}

// testExpiredLogObjects: the records the retention sweep removes, oldest
// first, per workspace, up to a limit.
func testExpiredLogObjects(t *testing.T, e *env) {
	ws, other := e.workspace(t, "default"), e.workspace(t, "other")
	start := e.clock.Now().Truncate(time.Microsecond)
	put := func(workspace, device string, sum byte) runlet.LogObject {
		t.Helper()
		o := runlet.LogObject{Workspace: workspace, Execution: store.NewID(), Device: device, DeviceName: device,
			State: runlet.LogUploaded, Size: 10, SHA256: digest(sum), Generation: 1, Segments: 1}
		ok(t, e.PutLogObject(e.ctx, &o))
		e.clock.Advance(time.Hour)
		return o
	}
	a := put(ws.ID, "pi-9", 'a') // uploaded at start
	b := put(ws.ID, "pi-1", 'b') // start + 1h
	_ = put(other.ID, "pi-1", 'c')
	d := put(ws.ID, "pi-5", 'd') // start + 3h

	objs, err := e.ExpiredLogObjects(e.ctx, ws.ID, start, 0)
	ok(t, err)
	equal(t, "logs uploaded before the first", len(objs), 0)
	objs, err = e.ExpiredLogObjects(e.ctx, ws.ID, start.Add(time.Hour), 0)
	ok(t, err)
	equal(t, "logs uploaded before the second (not at it)", objs, []runlet.LogObject{a})
	objs, err = e.ExpiredLogObjects(e.ctx, ws.ID, start.Add(10*time.Hour), 0)
	ok(t, err)
	equal(t, "every log of the workspace, oldest first", objs, []runlet.LogObject{a, b, d})
	objs, err = e.ExpiredLogObjects(e.ctx, ws.ID, start.Add(10*time.Hour), 2)
	ok(t, err)
	equal(t, "expired logs, limited", objs, []runlet.LogObject{a, b})
	_, err = e.ExpiredLogObjects(e.ctx, ws.ID, start.Add(10*time.Hour), -1)
	code(t, err, runlet.EINVALID)
	objs, err = e.ExpiredLogObjects(e.ctx, "nowhere", start.Add(10*time.Hour), 0)
	ok(t, err)
	equal(t, "expired logs of no workspace", len(objs), 0)

	ok(t, e.DeleteLogObject(e.ctx, a.Workspace, a.Execution, a.Device))
	objs, err = e.ExpiredLogObjects(e.ctx, ws.ID, start.Add(10*time.Hour), 1)
	ok(t, err)
	equal(t, "the oldest once the sweep removed the first", objs, []runlet.LogObject{b})
}

// testLogSettings: LogSettings and SetLogSettings.
func testLogSettings(t *testing.T, e *env) {
	ws, other := e.workspace(t, "default"), e.workspace(t, "other")
	s, err := e.LogSettings(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "log settings never set", s, runlet.LogSettings{})
	equal(t, "their retention", s.RetentionOrDefault(), runlet.DefaultLogRetention)
	_, err = e.LogSettings(e.ctx, "nowhere")
	code(t, err, runlet.ENOTFOUND)
	code(t, e.SetLogSettings(e.ctx, "nowhere", runlet.LogSettings{Retention: runlet.Duration(24 * time.Hour)}), runlet.ENOTFOUND)
	for _, r := range []time.Duration{-time.Hour, 30 * time.Minute, runlet.MaxLogRetention + time.Hour} {
		code(t, e.SetLogSettings(e.ctx, ws.ID, runlet.LogSettings{Retention: runlet.Duration(r)}), runlet.EINVALID)
	}

	month := runlet.LogSettings{Retention: runlet.Duration(30*24*time.Hour + 1500*time.Millisecond)}
	ok(t, e.SetLogSettings(e.ctx, ws.ID, month))
	s, err = e.LogSettings(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "log settings set", s, month)
	s, err = e.LogSettings(e.ctx, other.ID)
	ok(t, err)
	equal(t, "the other workspace's, not set", s, runlet.LogSettings{})

	ok(t, e.SetLogSettings(e.ctx, ws.ID, runlet.LogSettings{Retention: runlet.Duration(runlet.MaxLogRetention)}))
	s, err = e.LogSettings(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "the longest retention", s.RetentionOrDefault(), runlet.MaxLogRetention)
	ok(t, e.SetLogSettings(e.ctx, ws.ID, runlet.LogSettings{}))
	s, err = e.LogSettings(e.ctx, ws.ID)
	ok(t, err)
	equal(t, "log settings back to the default", s, runlet.LogSettings{})
}
