package storetest

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/runlet/runlet"
)

// The seed's secrets are integers above 2^53.
const (
	secret1 = "64089519511846157"
	secret2 = "90071992547409931"
)

// sensor registers a sensor with secret1.
func (e *env) sensor(t *testing.T, ws string, id int64) runlet.Sensor {
	t.Helper()
	s := runlet.Sensor{ID: id, Workspace: ws, Name: "sensor"}
	ok(t, e.AddSensor(e.ctx, &s, secret1))
	return s
}

func testSensors(t *testing.T, e *env) {
	a, b := e.workspace(t, "a"), e.workspace(t, "b")
	s := runlet.Sensor{ID: 101, Workspace: a.ID, Name: "fridge", Owner: "kitchen", Location: "cellar", Contact: "ops@example.com"}
	ok(t, e.AddSensor(e.ctx, &s, secret1))
	if s.State != runlet.SensorActive || !s.Created.Equal(e.clock.Now()) || !s.LastSeen.IsZero() || s.Latest != nil {
		t.Fatalf("added sensor %+v: want active, Created = now, never seen", s)
	}
	got, err := e.Sensor(e.ctx, a.ID, 101)
	ok(t, err)
	equal(t, "Sensor", got, s)
	_, err = e.Sensor(e.ctx, b.ID, 101)
	code(t, err, runlet.ENOTFOUND) // another workspace's
	_, err = e.Sensor(e.ctx, a.ID, 102)
	code(t, err, runlet.ENOTFOUND)

	// Ids are unique across workspaces.
	err = e.AddSensor(e.ctx, &runlet.Sensor{ID: 101, Workspace: b.ID}, secret2)
	code(t, err, runlet.ECONFLICT)
	err = e.AddSensor(e.ctx, &runlet.Sensor{ID: 101, Workspace: a.ID}, secret2)
	code(t, err, runlet.ECONFLICT)
	for name, c := range map[string]struct {
		s      runlet.Sensor
		secret string
	}{
		"id 0":            {runlet.Sensor{ID: 0, Workspace: a.ID}, secret1},
		"negative id":     {runlet.Sensor{ID: -4, Workspace: a.ID}, secret1},
		"no secret":       {runlet.Sensor{ID: 5, Workspace: a.ID}, ""},
		"secret too long": {runlet.Sensor{ID: 5, Workspace: a.ID}, strings.Repeat("x", runlet.MaxSensorSecret+1)},
		"unknown state":   {runlet.Sensor{ID: 5, Workspace: a.ID, State: "broken"}, secret1},
	} {
		err := e.AddSensor(e.ctx, &c.s, c.secret)
		if runlet.ErrorCode(err) != runlet.EINVALID {
			t.Errorf("AddSensor with %s: %v, want EINVALID", name, err)
		}
	}
	err = e.AddSensor(e.ctx, &runlet.Sensor{ID: 5, Workspace: "nowhere"}, secret1)
	code(t, err, runlet.ENOTFOUND)
	longest := runlet.Sensor{ID: 6, Workspace: a.ID, State: runlet.SensorInactive}
	ok(t, e.AddSensor(e.ctx, &longest, strings.Repeat("x", runlet.MaxSensorSecret)))
	equal(t, "state kept", longest.State, runlet.SensorInactive)

	e.sensor(t, b.ID, 7)
	list, err := e.ListSensors(e.ctx, a.ID)
	ok(t, err)
	equal(t, "ListSensors(a)", list, []runlet.Sensor{longest, s})
	list, err = e.ListSensors(e.ctx, b.ID)
	ok(t, err)
	equal(t, "sensors of b", len(list), 1)
	list, err = e.ListSensors(e.ctx, "nowhere")
	ok(t, err)
	equal(t, "sensors of no workspace", len(list), 0)

	// Update without a secret keeps it; with one replaces it.
	upd := s
	upd.Name, upd.Owner, upd.Location, upd.Contact, upd.State = "freezer", "", "garage", "", runlet.SensorInactive
	got, err = e.UpdateSensor(e.ctx, upd, "")
	ok(t, err)
	equal(t, "updated sensor", got, upd)
	got, err = e.CheckSensor(e.ctx, 101, secret1)
	ok(t, err)
	equal(t, "CheckSensor after an update without secret", got, upd)
	_, err = e.UpdateSensor(e.ctx, upd, secret2)
	ok(t, err)
	_, err = e.CheckSensor(e.ctx, 101, secret1)
	code(t, err, runlet.EUNAUTHORIZED)
	_, err = e.CheckSensor(e.ctx, 101, secret2)
	ok(t, err)
	other := upd
	other.Workspace = b.ID
	_, err = e.UpdateSensor(e.ctx, other, "")
	code(t, err, runlet.ENOTFOUND)
	bad := upd
	bad.State = "broken"
	_, err = e.UpdateSensor(e.ctx, bad, "")
	code(t, err, runlet.EINVALID)
	_, err = e.UpdateSensor(e.ctx, upd, strings.Repeat("x", runlet.MaxSensorSecret+1))
	code(t, err, runlet.EINVALID)

	// CheckSensor finds a sensor in any workspace.
	got, err = e.CheckSensor(e.ctx, 7, secret1)
	ok(t, err)
	equal(t, "checked sensor's workspace", got.Workspace, b.ID)
	_, err = e.CheckSensor(e.ctx, 8, secret1)
	code(t, err, runlet.ENOTFOUND)
	_, err = e.CheckSensor(e.ctx, 7, "")
	code(t, err, runlet.EUNAUTHORIZED)
	_, err = e.CheckSensor(e.ctx, 7, secret1+"0")
	code(t, err, runlet.EUNAUTHORIZED)

	err = e.DeleteSensor(e.ctx, b.ID, 101)
	code(t, err, runlet.ENOTFOUND)
	ok(t, e.DeleteSensor(e.ctx, a.ID, 101))
	_, err = e.Sensor(e.ctx, a.ID, 101)
	code(t, err, runlet.ENOTFOUND)
	err = e.DeleteSensor(e.ctx, a.ID, 101)
	code(t, err, runlet.ENOTFOUND)
	_, err = e.CheckSensor(e.ctx, 101, secret2)
	code(t, err, runlet.ENOTFOUND)
}

// testSensorSecrets: a secret is stored salted and hashed, never as
// itself, so two sensors with one secret store different hashes.
func testSensorSecrets(t *testing.T, e *env) {
	db, isSQL := e.Store.(interface{ SQL() *sql.DB })
	if !isSQL {
		t.Skip("the store gives no SQL access")
	}
	ws := e.workspace(t, "default")
	e.sensor(t, ws.ID, 1)
	e.sensor(t, ws.ID, 2)
	rows, err := db.SQL().QueryContext(e.ctx, `SELECT * FROM sensors ORDER BY id`)
	ok(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	ok(t, err)
	var stored []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		ok(t, rows.Scan(ptrs...))
		var row strings.Builder
		for _, v := range vals {
			switch v := v.(type) {
			case string:
				row.WriteString(v + "|")
			case []byte:
				row.WriteString(string(v) + "|")
			}
		}
		if strings.Contains(row.String(), secret1) {
			t.Fatalf("a sensor row holds its secret: %s", row.String())
		}
		stored = append(stored, row.String())
	}
	ok(t, rows.Err())
	if len(stored) != 2 || stored[0] == stored[1] {
		t.Fatalf("two sensors with one secret: rows %q, want 2 that differ (salted hashes)", stored)
	}
}
