//go:build !windows

package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/bus"
	busconnect "github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/server"
	"github.com/runlet/runlet/store"
	storeconnect "github.com/runlet/runlet/store/connect"
	"github.com/runlet/runlet/telemetry/batch"
	"github.com/runlet/runlet/telemetry/gateway"
	"github.com/runlet/runlet/telemetry/sim"
)

// Telemetry end to end (issue 13): the deterministic simulator's
// sensors, fed to the local endpoints of three real daemons, through a
// real server on each stack; the database, read back through the API, is
// compared with the simulator's oracle: nothing lost, nothing stored
// twice, each sensor's raw archive complete and in order. Then the same
// with a fault injected halfway through each run, one subtest each, on
// the same fleet (a fleet per fault would cost CI minutes).
func TestTelemetry(t *testing.T) {
	onEachStack(t, testTelemetry)
}

// outage is how long the broker stays unreachable: the minute
// with RUNLET_LONG=1, 10 s otherwise.
func outage() time.Duration {
	if os.Getenv("RUNLET_LONG") == "1" {
		return time.Minute
	}
	return 10 * time.Second
}

func testTelemetry(t *testing.T, st stack) {
	f := newFleetOn(t, st, []string{}...) // the daemons start below, with their endpoint
	tf := newTelemetryFleet(t, f)

	t.Run("clean", func(t *testing.T) {
		p := tf.plan(t, 1, true)
		before := tf.stats(t)
		tf.run(t, p, nil)
		tf.wantRefusals(t, p, before, tf.stats(t))
	})
	t.Run("another-device-key", tf.testAnotherDevicesKey)
	t.Run("broker-restarted", func(t *testing.T) {
		p := tf.plan(t, 2, false)
		tf.run(t, p, p.Midway(sim.BrokerRestarted, 0))
	})
	t.Run("server-killed", func(t *testing.T) {
		p := tf.plan(t, 3, false)
		tf.run(t, p, p.Midway(sim.ServerKilled, 0))
	})
	t.Run("daemon-killed", func(t *testing.T) {
		p := tf.plan(t, 4, false)
		s := p.Midway(sim.GatewayKilled, 0)
		s[0].Gateway = 1
		tf.run(t, p, s)
	})
	t.Run("broker-unreachable", func(t *testing.T) {
		p := tf.plan(t, 5, false)
		tf.run(t, p, p.Midway(sim.BrokerStopped, outage()))
	})
}

// telemetryFleet is a fleet whose daemons serve their readings endpoint,
// with an admin's API client.
type telemetryFleet struct {
	f     *fleet
	admin *apiclient.Client
	// endpoints are the daemons' readings endpoints, by device.
	endpoints map[string]string
	// restart, when not nil, ends a fault that lasts (the broker
	// stopped): it is due at restartAt.
	restart   func(t *testing.T)
	restartAt time.Time
}

func newTelemetryFleet(t *testing.T, f *fleet) *telemetryFleet {
	tf := &telemetryFleet{f: f, endpoints: map[string]string{}}
	for _, name := range devices {
		tf.startGateway(t, name)
	}
	login, err := apiclient.New(f.url, "").Login(ctxFor(t), server.AdminEmail, "correct horse battery")
	if err != nil {
		t.Fatalf("sign in as the admin: %v", err)
	}
	tf.admin = apiclient.New(f.url, login.Token)
	return tf
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startGateway starts the daemon of device name with its readings
// endpoint on a port of its own and waits until it serves it. The process
// belongs to the fleet (it outlives the subtest t that starts it).
func (tf *telemetryFleet) startGateway(t *testing.T, name string) {
	t.Helper()
	f := tf.f
	addrFile := filepath.Join(f.homes[name], gateway.AddrFile)
	_ = os.Remove(addrFile) // a daemon killed with SIGKILL leaves it behind
	f.daemonRuns[name]++
	p := startProc(f.t, fmt.Sprintf("daemon %s (start %d)", name, f.daemonRuns[name]),
		"daemon", "--home", f.homes[name], "--telemetry-listen", "127.0.0.1:0")
	f.daemons[name] = p
	var addr string
	testenv.EventuallyEvery(t, name+"'s readings endpoint", 60*time.Second, pace, func() bool {
		if !p.running() {
			t.Fatalf("the daemon of %s ended: %v\n%s", name, p.err, p.out)
		}
		b, err := os.ReadFile(addrFile)
		addr = strings.TrimSpace(string(b))
		return err == nil && addr != ""
	})
	tf.endpoints[name] = "http://" + addr + "/v1/readings"
}

// plan makes the k-th run's plan, its sensors registered: three
// gateways (pi-1, pi-2, mac) of four sensors each, twelve readings each,
// five seconds apart and ending now; with refusals, a sensor of another
// workspace, an inactive one and messages refused besides.
func (tf *telemetryFleet) plan(t *testing.T, k int, refusals bool) *sim.Plan {
	t.Helper()
	p := sim.NewPlan(sim.Config{
		Seed: uint64(k), Gateways: len(devices), Sensors: 4, Readings: 12, Interval: 5 * time.Second,
		FirstID: int64(k) * 1000, Refusals: refusals,
	})
	ctx := ctxFor(t)
	for _, s := range p.Sensors {
		tf.addSensor(t, ctx, s, runlet.SensorActive)
	}
	if refusals {
		tf.addSensor(t, ctx, p.Inactive, runlet.SensorInactive)
		tf.addForeignSensor(t, ctx, p.Foreign)
	}
	return p
}

func (tf *telemetryFleet) addSensor(t *testing.T, ctx context.Context, s sim.Sensor, state runlet.SensorState) {
	t.Helper()
	_, err := tf.admin.AddSensor(ctx, api.NewSensor{ID: s.ID, Name: s.Name, Secret: api.SensorSecret(s.Secret), State: state})
	if err != nil {
		t.Fatalf("register sensor %d: %v", s.ID, err)
	}
}

// addForeignSensor registers s in another workspace, straight in the
// server's database: the API creates no workspace.
func (tf *telemetryFleet) addForeignSensor(t *testing.T, ctx context.Context, s sim.Sensor) {
	t.Helper()
	db := tf.openStore(t, ctx)
	ws := runlet.Workspace{Name: testenv.RandomName("other-")}
	if err := db.CreateWorkspace(ctx, &ws); err != nil {
		t.Fatalf("create another workspace: %v", err)
	}
	sn := runlet.Sensor{ID: s.ID, Workspace: ws.ID, Name: s.Name, State: runlet.SensorActive}
	if err := db.AddSensor(ctx, &sn, s.Secret); err != nil {
		t.Fatalf("register sensor %d in workspace %s: %v", s.ID, ws.Name, err)
	}
}

// openStore opens the server's database beside it.
func (tf *telemetryFleet) openStore(t *testing.T, ctx context.Context) store.Store {
	t.Helper()
	dbURL := "sqlite:" + filepath.Join(tf.f.data, "runlet.db")
	for i, a := range tf.f.serverArgs {
		if a == "--db" && i+1 < len(tf.f.serverArgs) {
			dbURL = tf.f.serverArgs[i+1]
		}
	}
	db, err := storeconnect.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatalf("open the server's database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// run feeds p through the daemons with the script's faults, waits until
// every reading is stored and compares the database with the oracle.
func (tf *telemetryFleet) run(t *testing.T, p *sim.Plan, script sim.Script) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := p.Run(ctx, &telemetryDriver{tf: tf, t: t}, script); err != nil {
		t.Fatal(err)
	}
	fed := time.Now()
	if tf.restart != nil {
		// The fault lasts its time: the readings fed meanwhile wait in
		// the daemons' outboxes.
		if d := time.Until(tf.restartAt); d > 0 {
			time.Sleep(d)
		}
		tf.restart(t)
		tf.restart = nil
	}
	tf.waitStored(t, p)
	t.Logf("stored %s after the last round was fed", time.Since(fed).Round(time.Millisecond))
	got := tf.observe(t, p)
	if d := sim.Compare(p.Oracle, got); !d.OK() {
		t.Fatalf("the database differs from the oracle (%d readings sent):\n%s", p.Total(), d)
	}
	t.Logf("%d readings of %d sensors stored exactly, raw archive complete and in order", p.Total(), len(p.Sensors))
}

// waitStored polls the API until every sensor of p has its readings in
// the raw archive and the daemons' outboxes are empty.
func (tf *telemetryFleet) waitStored(t *testing.T, p *sim.Plan) {
	t.Helper()
	var missing int
	start, told := time.Now(), false
	ok := testenv.Poll(90*time.Second+outage(), 250*time.Millisecond, func() bool {
		if !told && time.Since(start) > 10*time.Second {
			told = true // a clue when it is slow
			t.Logf("after 10 s, the outboxes: %s", tf.outboxes())
		}
		missing = 0
		for _, s := range p.Sensors {
			n, err := tf.rawCount(s.ID, p)
			if err != nil {
				missing = -1
				return false
			}
			missing += max(len(p.Oracle.Raw[s.ID])-n, 0)
		}
		return missing == 0 && tf.outboxesEmpty()
	})
	if !ok {
		t.Fatalf("timed out waiting for %d readings to be stored: %d missing (-1: the API did not answer); outboxes: %s", p.Total(), missing, tf.outboxes())
	}
}

// window is the time range that holds every reading of p.
func window(p *sim.Plan) (from, to string) {
	c := p.Config
	start := c.End.Add(-time.Duration(c.Readings)*c.Interval - time.Minute)
	return start.Format(time.RFC3339), c.End.Add(time.Minute).Format(time.RFC3339)
}

func (tf *telemetryFleet) rawCount(sensor int64, p *sim.Plan) (int, error) {
	from, to := window(p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	page, err := tf.admin.RawReadings(ctx, sensor, api.RawQuery{From: from, To: to, Limit: 1000})
	return len(page.Readings), err
}

// outboxesEmpty reports whether every daemon's outbox has nothing left
// to send.
func (tf *telemetryFleet) outboxesEmpty() bool {
	for _, name := range devices {
		s, err := tf.gatewayStats(name)
		if err != nil || s.Pending != 0 {
			return false
		}
	}
	return true
}

func (tf *telemetryFleet) outboxes() string {
	var b strings.Builder
	for _, name := range devices {
		s, err := tf.gatewayStats(name)
		fmt.Fprintf(&b, "%s: pending %d, sent %d, last error %q (%v); ", name, s.Pending, s.SentReadings, s.LastError, err)
	}
	return b.String()
}

func (tf *telemetryFleet) gatewayStats(name string) (gateway.Stats, error) {
	var s gateway.Stats
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(strings.TrimSuffix(tf.endpoints[name], "readings") + "stats")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /v1/stats: %s", resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// observe reads back, through the API, the series and raw archive of
// every sensor of p.
func (tf *telemetryFleet) observe(t *testing.T, p *sim.Plan) sim.Observed {
	t.Helper()
	ctx := ctxFor(t)
	from, to := window(p)
	got := sim.Observed{Series: map[sim.Series][]sim.Point{}, Raw: map[int64][]sim.Raw{}}
	for _, s := range p.Sensors {
		for _, m := range runlet.Metrics {
			ser, err := tf.admin.Series(ctx, s.ID, api.SeriesQuery{Metric: m, From: from, To: to})
			if err != nil {
				t.Fatalf("the %s series of sensor %d: %v", m, s.ID, err)
			}
			k := sim.Series{Sensor: s.ID, Metric: m}
			for _, pt := range ser.Points {
				for range max(pt.Count, 1) { // a point counted twice is stored twice
					got.Series[k] = append(got.Series[k], sim.Point{Time: pt.Time, Value: pt.Mean})
				}
			}
		}
		var after int64
		for {
			page, err := tf.admin.RawReadings(ctx, s.ID, api.RawQuery{From: from, To: to, After: after, Limit: 1000})
			if err != nil {
				t.Fatalf("the raw archive of sensor %d: %v", s.ID, err)
			}
			for _, r := range page.Readings {
				sent := r.Time.UnixMilli()
				if r.TimeReplaced {
					sent = r.SentTime
				}
				got.Raw[s.ID] = append(got.Raw[s.ID], sim.Raw{Time: sent, Temp: r.Values[runlet.MetricTemp], Batt: r.Values[runlet.MetricBatt]})
			}
			if page.Next == 0 {
				break
			}
			after = page.Next
		}
	}
	return got
}

func (tf *telemetryFleet) stats(t *testing.T) api.TelemetryStats {
	t.Helper()
	s, err := tf.admin.TelemetryStats(ctxFor(t))
	if err != nil {
		t.Fatalf("GET /api/v1/telemetry/stats: %v", err)
	}
	return s
}

// wantRefusals checks that the pipeline counted each refusal of p, from
// before to after.
func (tf *telemetryFleet) wantRefusals(t *testing.T, p *sim.Plan, before, after api.TelemetryStats) {
	t.Helper()
	got := map[sim.Refusal]int{
		sim.RefusedSecret:    int(after.BadSecret - before.BadSecret),
		sim.RefusedWorkspace: int(after.OtherWorkspace - before.OtherWorkspace),
		sim.RefusedInactive:  int(after.Inactive - before.Inactive),
		sim.RefusedUnknown:   int(after.UnknownSensor - before.UnknownSensor),
	}
	for r, want := range p.Oracle.Refused {
		if got[r] != want {
			t.Errorf("refused for %s: %d counted, want %d (stats before %+v, after %+v)", r, got[r], want, before, after)
		}
	}
	if n := int(after.Stored - before.Stored); n != p.Total() {
		t.Errorf("the pipeline counted %d readings stored, want %d", n, p.Total())
	}
	ctx := ctxFor(t)
	for _, id := range []int64{p.Inactive.ID, p.Unknown} {
		if page, err := tf.admin.RawReadings(ctx, id, api.RawQuery{}); err == nil && len(page.Readings) > 0 {
			t.Errorf("sensor %d, refused, has %d readings archived", id, len(page.Readings))
		}
	}
}

// testAnotherDevicesKey: a device publishing a batch on another device's
// telemetry key, a valid batch of a registered sensor with its secret, is
// refused by the broker, and nothing of it is stored.
func (tf *telemetryFleet) testAnotherDevicesKey(t *testing.T) {
	p := sim.NewPlan(sim.Config{Seed: 9, Gateways: 1, Sensors: 1, Readings: 3, FirstID: 9000})
	ctx := ctxFor(t)
	tf.addSensor(t, ctx, p.Sensors[0], runlet.SensorActive)
	c, err := home.Dir(tf.f.homes["pi-1"]).Credentials()
	if err != nil {
		t.Fatal(err)
	}
	u, err := bus.WithCredentials(c.Broker, c.BrokerUser, c.BrokerPassword)
	if err != nil {
		t.Fatal(err)
	}
	b, err := busconnect.Open(ctx, u, bus.Options{Name: "e2e pi-1 as pi-2"})
	if err != nil {
		t.Fatalf("connect as pi-1: %v", err)
	}
	defer b.Close()
	// Sequence numbers far beyond pi-1's own: the server drops a reading
	// whose device and number it archived already.
	const seq = 1 << 40
	body, err := batch.Encode(sim.Batch(p.Rounds[0][0], seq, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = b.PublishDurable(pctx, c.Workspace, bus.Message{Key: bus.TelemetryKey("pi-2"), Body: body})
	if err == nil {
		t.Fatal("pi-1 published on pi-2's telemetry key")
	}
	t.Logf("refused: %v", err)
	// pi-1's own key takes the same batch: the refusal was the key's.
	body, err = batch.Encode(sim.Batch(p.Rounds[1][0], seq+1, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	octx, ocancel := context.WithTimeout(ctx, 10*time.Second)
	defer ocancel()
	if err := b.PublishDurable(octx, c.Workspace, bus.Message{Key: bus.TelemetryKey("pi-1"), Body: body}); err != nil {
		t.Fatalf("pi-1 on its own telemetry key: %v", err)
	}
	id := p.Sensors[0].ID
	testenv.EventuallyEvery(t, "pi-1's own reading to be stored", 60*time.Second, pace, func() bool {
		n, err := tf.rawCount(id, p)
		return err == nil && n >= 1
	})
	page, err := tf.admin.RawReadings(ctx, id, api.RawQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Readings {
		if r.Device != "pi-1" || r.Time.UnixMilli() != p.Rounds[1][0][0].Time {
			t.Errorf("stored %+v, want only pi-1's own reading at %d", r, p.Rounds[1][0][0].Time)
		}
	}
}

// telemetryDriver runs a plan on a fleet: it posts each gateway's
// messages to its daemon's endpoint and injects the faults.
type telemetryDriver struct {
	tf *telemetryFleet
	t  *testing.T
}

func (d *telemetryDriver) Feed(ctx context.Context, g int, body []byte) error {
	endpoint := d.tf.endpoints[devices[g]]
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s: %s", endpoint, resp.Status, b)
	}
	var a gateway.Answer
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("POST %s answered %s: %w", endpoint, b, err)
	}
	if n := bytes.Count(body, []byte("\n")); a.Accepted != n || len(a.Refused) > 0 {
		return fmt.Errorf("POST %s: %d of %d messages accepted, refused: %+v", endpoint, a.Accepted, n, a.Refused)
	}
	return nil
}

func (d *telemetryDriver) Inject(_ context.Context, f sim.Fault) error {
	t, tf := d.t, d.tf
	t.Logf("injecting %s", f)
	switch f.Kind {
	case sim.ServerKilled:
		tf.f.server.kill9()
		tf.restartServer(t)
	case sim.BrokerRestarted:
		if tf.f.rabbit != nil {
			tf.f.rabbit.Restart(t)
			return nil
		}
		// The embedded broker is the server's: a restart of the server
		// (SIGTERM, then a start) restarts it.
		stopping := time.Now()
		tf.f.server.stop()
		t.Logf("the server stopped in %s", time.Since(stopping).Round(time.Millisecond))
		tf.restartServer(t)
	case sim.GatewayKilled:
		name := devices[f.Gateway]
		tf.f.daemons[name].kill9()
		tf.startGateway(t, name)
	case sim.BrokerStopped:
		tf.stopBroker(t)
		tf.restartAt = time.Now().Add(f.For)
	default:
		return fmt.Errorf("the e2e driver does not inject %s", f.Kind)
	}
	return nil
}

// stopBroker makes the broker unreachable until tf.restart: the test's
// own RabbitMQ node's application stopped (started again in t.Cleanup
// whatever happens), or, with the embedded broker, the server that holds
// it.
func (tf *telemetryFleet) stopBroker(t *testing.T) {
	t.Helper()
	if n := tf.f.rabbit; n != nil {
		u, err := url.Parse(n.URL)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := rabbitmqctl("-n", n.Name, "stop_app"); err != nil {
			t.Fatalf("stop RabbitMQ: %v\n%s", err, out)
		}
		started := false
		start := func(t *testing.T) {
			if started {
				return
			}
			started = true
			if out, err := rabbitmqctl("-n", n.Name, "start_app"); err != nil {
				t.Errorf("start RabbitMQ again: %v\n%s", err, out)
			}
		}
		t.Cleanup(func() { start(t) })
		tf.restart = func(t *testing.T) {
			start(t)
			testenv.EventuallyEvery(t, "RabbitMQ to listen again", 60*time.Second, pace, func() bool {
				return testenv.Reachable(u.Host) == nil
			})
		}
		return
	}
	tf.f.server.stop()
	tf.restart = tf.restartServer
}

func rabbitmqctl(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", args...).CombinedOutput()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return out, err
}

// restartServer starts the server again on its data and ports; the
// process belongs to the fleet.
func (tf *telemetryFleet) restartServer(t *testing.T) {
	t.Helper()
	f := tf.f
	args := append([]string{"server", "--listen", f.listen, "--broker-listen", f.broker, "--data", f.data}, f.serverArgs...)
	p := startProc(f.t, "server (again)", args...)
	f.server = p
	client := &http.Client{Timeout: 2 * time.Second}
	testenv.EventuallyEvery(t, "the server to be ready again", 60*time.Second, pace, func() bool {
		if !p.running() {
			t.Fatalf("the server ended: %v\n%s", p.err, p.out)
		}
		resp, err := client.Get(f.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
