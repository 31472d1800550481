// Package storetest is the contract suite of store.Store: every dialect
// passes the same tests (store/sqlite, store/postgres), so the server can
// rely on the behaviour documented on the interface whatever the database.
package storetest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// Run runs the suite. open must return a new, empty store each time it is
// called, opened with opts, and close it when t ends. opts.Now is the
// test's clock, which the suite moves so that expiry and ordering are
// tested without waiting.
func Run(t *testing.T, open func(t testing.TB, opts store.Options) store.Store) {
	tests := []struct {
		name string
		f    func(*testing.T, *env)
	}{
		{"Workspaces", testWorkspaces},
		{"Users", testUsers},
		{"UserEmailIgnoresCase", testUserEmailCase},
		{"Memberships", testMemberships},
		{"Devices", testDevices},
		{"DeviceNameUniquePerWorkspace", testDeviceNames},
		{"DeviceTouchAndRevoke", testDeviceTouchRevoke},
		{"Tokens", testTokens},
		{"TokenExpiryAndRevocation", testTokenExpiry},
		{"DeviceCodeApproved", testDeviceCodeApproved},
		{"DeviceCodeDeniedAndExpired", testDeviceCodeDenied},
		{"Jobs", testJobs},
		{"JobsConcurrentPut", testJobsConcurrent},
		{"JobHistory", testJobHistory},
		{"Executions", testExecutions},
		{"ExecutionsFanOut", testExecutionsFanOut},
		{"ExecutionPages", testExecutionPages},
		{"ExecutionStatusTransitions", testStatusTransitions},
		{"ExecutionStatusConcurrent", testStatusConcurrent},
		{"ExecutionKillAndExpiry", testKillExpiry},
		{"ExecutionCancel", testCancel},
		{"Runs", testRuns},
		{"RunOutcomes", testRunOutcomes},
		{"RunPagesWhileInserting", testRunPagesWhileInserting},
		{"Audit", testAudit},
		{"Leases", testLeases},
		{"LeaseRace", testLeaseRace},
		{"Ticks", testTicks},
		{"TickRace", testTickRace},
		{"TickHistory", testTickHistory},
		{"Sensors", testSensors},
		{"SensorSecrets", testSensorSecrets},
		{"AddReadings", testAddReadings},
		{"SensorLatest", testSensorLatest},
		{"RawReadings", testRawReadings},
		{"Series", testSeries},
		{"TelemetrySettings", testTelemetrySettings},
		{"PruneReadings", testPruneReadings},
		{"DeleteSensorData", testDeleteSensorData},
		{"ReadingsConcurrent", testReadingsConcurrent},
		{"AlertSettings", testAlertSettings},
		{"Channels", testChannels},
		{"ChangeAlert", testChangeAlert},
		{"QueueNotification", testQueueNotification},
		{"AlertRace", testAlertRace},
		{"AlertMarks", testAlertMarks},
		{"ListAlerts", testListAlerts},
		{"Outbox", testOutbox},
		{"ClaimRace", testClaimRace},
		{"ServerKey", testServerKey},
		{"SensorRules", testSensorRules},
		{"LogKeys", testLogKeys},
		{"LogKeyRace", testLogKeyRace},
		{"LogObjects", testLogObjects},
		{"ExpiredLogObjects", testExpiredLogObjects},
		{"LogSettings", testLogSettings},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			e := &env{Store: open(t, store.Options{Now: c.Now}), ctx: t.Context(), clock: c}
			tt.f(t, e)
		})
	}
}

// env is one test's store, context and clock.
type env struct {
	store.Store
	ctx   context.Context
	clock *clock
}

// clock is a settable time, starting at a fixed instant with microseconds.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)}
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

// workspace creates a workspace named name.
func (e *env) workspace(t *testing.T, name string) runlet.Workspace {
	t.Helper()
	w := runlet.Workspace{Name: name}
	ok(t, e.CreateWorkspace(e.ctx, &w))
	return w
}

// user creates a user with the email.
func (e *env) user(t *testing.T, email string) runlet.User {
	t.Helper()
	u := runlet.User{Email: email, Name: email}
	ok(t, e.CreateUser(e.ctx, &u))
	return u
}

// device creates a device named name in ws.
func (e *env) device(t *testing.T, ws, name string) runlet.Device {
	t.Helper()
	d := runlet.Device{Workspace: ws, Name: name, OS: "linux", Arch: "arm64"}
	ok(t, e.CreateDevice(e.ctx, &d))
	return d
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// code fails t unless err carries the application code want.
func code(t *testing.T, err error, want string) {
	t.Helper()
	if got := runlet.ErrorCode(err); got != want {
		t.Fatalf("error code = %q (%v), want %q", got, err, want)
	}
	if runlet.ErrorMessage(err) == "" {
		t.Fatalf("error %q has no message", want)
	}
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}
