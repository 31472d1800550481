package sim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/runlet/runlet"
)

// The alert oracle (R-TEL-3, R-TEL-4): a scripted day of readings on two
// gateways (AlertDay), and an implementation of the alerting rules,
// independent of package alert, that says from the script alone which
// alerts must open, remind and resolve, and by when (ExpectAlerts).
// CompareAlerts reports how what a server decided differs.
//
// The rules are those the lead wrote for every part ("Semantics every
// part shares"); where they leave room, this oracle reads them so:
//
//   - "now" of a threshold or recovery decision is the time the batch is
//     evaluated, which the driver of a test sets to the delivery's At:
//     such an event must happen at exactly that time.
//   - The readings of one sensor in a batch are taken in time order, one
//     decision each: of a spooled burst out of range, only the first
//     reading once a period has passed since people were told sends a
//     reminder, with that reading's value (not the batch's last).
//   - A reminder replaces the open alert's value and bound with the
//     reading's; an alert opened while people were told of the key less
//     than a period ago is told ("opened") at the first reading still
//     out of range once the period has passed.
//   - The leader's decisions (silence, device offline, and the offline
//     alert's recovery) happen at or after their due time and within
//     AlertRules.Slack of it: a driver that steps the leader at least
//     every Slack keeps to them. A device offline since S is late once
//     the clock is past S + the offline limit (the oracle allows both
//     readings of "longer than": the window starts at S + limit).
//   - A silence alert's value is the seconds from the sensor's last
//     heard to the leader's decision: at least the period and at most
//     the period and Slack.
//   - A batch of a sensor's spooled readings, delivered late, counts the
//     sensor as heard at the delivery.
//
// The script never puts a leader's due time on a delivery of the same
// key, so the order of the two in a server does not matter.

// AlertDayStart is when AlertDay's day starts (UTC midnight).
var AlertDayStart = time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)

// AlertSensor is a sensor of an AlertPlan, with what registering it for
// alerting needs.
type AlertSensor struct {
	Sensor
	Owner    string
	Location string
	Contact  string
	Rules    runlet.SensorRules
}

// AlertGateway is a gateway of an AlertPlan: the device's name, and the
// index its sensors give in Sensor.Gateway.
type AlertGateway struct {
	Name    string
	Sensors []int64
}

// Delivery is one batch a gateway relays to the server: the driver sets
// the clock to At and hands the readings to the server (the alert
// service's Readings after the ingest's commit).
type Delivery struct {
	At      time.Time
	Gateway int
	Sends   []Send
}

// PresenceChange is a device going offline or coming back online at At,
// as the server's presence of devices sees it.
type PresenceChange struct {
	At      time.Time
	Gateway int
	Online  bool
}

// AlertPlan is a scripted run for alerting: the fleet, the deliveries in
// time order, the devices' presence, and the workspace's settings.
type AlertPlan struct {
	Start, End time.Time
	Interval   time.Duration
	Gateways   []AlertGateway
	Sensors    []AlertSensor
	Deliveries []Delivery
	Presence   []PresenceChange
	// Settings are the workspace's alert settings the script is made
	// for (thresholds by default, the period, the limits).
	Settings runlet.AlertSettings
}

// Sensor returns the plan's sensor with the id.
func (p *AlertPlan) Sensor(id int64) (AlertSensor, bool) {
	for _, s := range p.Sensors {
		if s.ID == id {
			return s, true
		}
	}
	return AlertSensor{}, false
}

// The sensors of AlertDay, by role.
const (
	DaySensorBrief    int64 = 1001 // brief and long excursions above the maximum, a value equal to it
	DaySensorBelow    int64 = 1002 // a long excursion below the minimum
	DaySensorFlapping int64 = 1003 // in and out of range within an hour
	DaySensorQuiet    int64 = 1004 // quiet for 70 minutes, then back
	DaySensorBattery  int64 = 1005 // its battery runs down through the minimum, then is replaced
	DaySensorFreezer  int64 = 1006 // its own thresholds; an excursion while its gateway is offline
)

// The script of AlertDay, in sensor time from the start of the day.
const (
	dayOffline = 17*time.Hour + 57*time.Minute + 30*time.Second // pi-2 goes offline
	dayOnline  = 19*time.Hour + 40*time.Minute                  // pi-2 is back, its spool delivered
)

// AlertDay returns the scripted day: six sensors on two gateways (pi-1
// and pi-2) reporting every five minutes for 24 hours from
// AlertDayStart, with the workspace defaults temperature 2 to 8 °C and
// battery at least 20 %, a period of one hour, a silence of one hour and
// an offline limit of 15 minutes. On it:
//
//   - 1001 goes above 8 °C from 02:00 to 02:10 (brief), reads exactly
//     8 °C at 03:00 (in range), and is above it again from 06:00 to
//     08:15 (reminders at 07:00 and 08:00);
//   - 1002 is below 2 °C from 10:00 to 11:25 (a reminder at 11:00);
//   - 1003 flaps from 04:00: out, in, out, in, then out until 05:10:
//     told at 04:00, its recovery at 04:05, the next two alerts not told
//     until 05:00, a period after 04:00, and the recovery at 05:15;
//   - 1004 (on pi-2) says nothing from 15:00 to 16:00 and is back at
//     16:05: silent 70 minutes;
//   - 1005's battery (on pi-2) falls a percent every 15 minutes from
//     80 %, reaches 20 % at 15:00 (in range) and 19 % at 15:15, stays
//     at 5 % from 18:45, and is replaced (100 %) at 22:00;
//   - pi-2 goes offline at 17:57:30 and is back at 19:40, when it
//     delivers what its sensors sent meanwhile in one batch; in it, the
//     freezer 1006 (its own range, -25 to -15 °C) is above -15 °C from
//     18:30 to 18:45.
//
// The seed only adds noise to the values that stay in range.
func AlertDay(seed uint64) *AlertPlan {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	f := func(v float64) *float64 { return &v }
	p := &AlertPlan{
		Start:    AlertDayStart,
		End:      AlertDayStart.Add(24 * time.Hour),
		Interval: 5 * time.Minute,
		Gateways: []AlertGateway{{Name: "pi-1"}, {Name: "pi-2"}},
		Settings: runlet.AlertSettings{
			Defaults: runlet.SensorRules{
				Thresholds: runlet.Thresholds{TempMin: f(2), TempMax: f(8), BattMin: f(20)},
				Silence:    runlet.Duration(time.Hour),
			},
			Every:        runlet.Duration(time.Hour),
			OfflineLimit: runlet.Duration(15 * time.Minute),
		},
	}
	type role struct {
		id      int64
		name    string
		gateway int
		set     float64
		rules   runlet.SensorRules
	}
	roles := []role{
		{DaySensorBrief, "Fridge 1", 0, 4, runlet.SensorRules{}},
		{DaySensorBelow, "Fridge 2", 0, 5, runlet.SensorRules{}},
		{DaySensorFlapping, "Fridge 3", 0, 4, runlet.SensorRules{}},
		{DaySensorQuiet, "Fridge 4", 1, 4, runlet.SensorRules{}},
		{DaySensorBattery, "Cold room", 1, 5, runlet.SensorRules{}},
		{DaySensorFreezer, "Freezer", 1, -18, runlet.SensorRules{Thresholds: runlet.Thresholds{TempMin: f(-25), TempMax: f(-15)}}},
	}
	for i, r := range roles {
		s := AlertSensor{
			Sensor:   Sensor{ID: r.id, Name: r.name, Secret: secret(rng), Gateway: r.gateway, SecretAsString: i%2 == 1},
			Owner:    "ann@example.com",
			Location: "kitchen",
			Contact:  "+15550100",
			Rules:    r.rules,
		}
		p.Sensors = append(p.Sensors, s)
		p.Gateways[r.gateway].Sensors = append(p.Gateways[r.gateway].Sensors, r.id)
	}
	offline, online := p.Start.Add(dayOffline), p.Start.Add(dayOnline)
	p.Presence = []PresenceChange{{At: offline, Gateway: 1}, {At: online, Gateway: 1, Online: true}}

	var spool []Send // pi-2's readings while it is offline
	for tick := p.Start; tick.Before(p.End); tick = tick.Add(p.Interval) {
		d := tick.Sub(p.Start)
		byGateway := make([][]Send, len(p.Gateways))
		for i, r := range roles {
			temp := math.Round((r.set+clamp(rng.NormFloat64()*0.3, 1))*10) / 10
			batt := 90 - float64(i) - float64(d/(3*time.Hour)) // a slow fall, far above 20
			if v, ok := dayTemp(r.id, d); ok {
				temp = math.Round(v*10) / 10
			}
			if r.id == DaySensorBattery {
				batt = max(80-float64(d/(15*time.Minute)), 5)
				if d >= 22*time.Hour {
					batt = 100
				}
			}
			if r.id == DaySensorQuiet && d >= 15*time.Hour && d <= 16*time.Hour {
				continue // quiet: 14:55 is its last reading before 16:05
			}
			// Each sensor's clock runs a few milliseconds behind, so that
			// times are not all round.
			m := Send{Sensor: r.id, Time: tick.Add(-time.Duration(i+1) * time.Millisecond).UnixMilli(), Temp: temp, Batt: batt, Secret: p.Sensors[i].Secret}
			if r.gateway == 1 && !tick.Before(offline) && tick.Before(online) {
				spool = append(spool, m)
				continue
			}
			byGateway[r.gateway] = append(byGateway[r.gateway], m)
		}
		for g, ms := range byGateway {
			if g == 1 && tick.Equal(online) {
				ms = append(spool, ms...)
				spool = nil
			}
			if len(ms) > 0 {
				p.Deliveries = append(p.Deliveries, Delivery{At: tick, Gateway: g, Sends: ms})
			}
		}
	}
	return p
}

// dayTemp returns the scripted temperature of a sensor at d into the
// day, ok false where the sensor just reads its set point with noise.
func dayTemp(id int64, d time.Duration) (float64, bool) {
	at := func(h, m int) time.Duration { return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute }
	in := func(from, to time.Duration) bool { return d >= from && d <= to }
	// k counts the readings since from, which the excursions use to drift.
	k := func(from time.Duration) float64 { return float64((d - from) / (5 * time.Minute)) }
	switch id {
	case DaySensorBrief:
		switch {
		case d == at(2, 0):
			return 9.1, true
		case d == at(2, 5):
			return 9.6, true
		case d == at(2, 10):
			return 8.4, true
		case d == at(3, 0):
			return 8, true // equal to the maximum: in range
		case in(at(6, 0), at(8, 15)):
			return 9 + k(at(6, 0))/10, true
		}
	case DaySensorBelow:
		if in(at(10, 0), at(11, 25)) {
			return 1.5 - k(at(10, 0))/20, true
		}
	case DaySensorFlapping:
		switch {
		case d == at(4, 0), d == at(4, 10):
			return 9, true
		case d == at(4, 5), d == at(4, 15):
			return 6, true
		case in(at(4, 20), at(5, 10)):
			return 8.5 + k(at(4, 20))/10, true
		}
	case DaySensorFreezer:
		if in(at(18, 30), at(18, 45)) {
			return -12 - k(at(18, 30))/10, true
		}
	}
	return 0, false
}

func clamp(v, lim float64) float64 { return max(-lim, min(lim, v)) }

// AlertRules are what ExpectAlerts needs beyond the plan.
type AlertRules struct {
	// Settings are the workspace's; the zero value takes the plan's.
	Settings *runlet.AlertSettings
	// Slack is how late a leader's decision may be after its due time
	// (the driver's longest step); 1 minute when zero.
	Slack time.Duration
}

// ExpectedEvent is one decision the server must take: an alert opened
// (Opens), people told of an open alert (Event opened when it is the
// first time they are told of it, reminder after), or an alert resolved.
// Told says whether people are told (a notification per channel).
type ExpectedEvent struct {
	Key    string
	Kind   runlet.AlertKind
	Sensor int64
	Device string
	Metric runlet.Metric
	Event  runlet.AlertEvent
	Opens  bool
	Told   bool
	// Time is the earliest and Deadline the latest time it may happen
	// (the server's clock); equal for a decision on a delivery.
	Time, Deadline time.Time
	// Value, Limit and Bound are what a notification of it carries
	// (HasValue: checked); Value within ValueTol.
	HasValue bool
	Value    float64
	ValueTol float64
	Limit    float64
	Bound    runlet.Bound
	// Summary, when set, is text the alert's summary must contain.
	Summary string
}

func (e ExpectedEvent) String() string {
	s := fmt.Sprintf("%s %s", e.Key, e.Event)
	if e.Event == runlet.EventOpened && !e.Opens {
		s += " (first told)"
	}
	if e.Told {
		s += ", told,"
	} else {
		s += ", not told,"
	}
	if e.Deadline.After(e.Time) {
		s += fmt.Sprintf(" between %s and %s", clock(e.Time), clock(e.Deadline))
	} else {
		s += " at " + clock(e.Time)
	}
	if e.HasValue {
		s += fmt.Sprintf(", value %v", e.Value)
		if e.Bound != "" {
			s += fmt.Sprintf(" (%s %v)", e.Bound, e.Limit)
		}
	}
	return s
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05.000") }

// keyState is the oracle's state of one alert key: the mark's Notified,
// and the open alert.
type keyState struct {
	notified time.Time
	open     bool
	at       time.Time // the open alert's breach time
	told     bool      // people were told of the open alert
}

// silence is the oracle's state of one sensor's silence watch.
type silence struct {
	heard, due time.Time
	device     string
}

// ExpectAlerts returns every decision the rules take on p, in time order
// (ties in the order they are taken).
func ExpectAlerts(p *AlertPlan, rules AlertRules) []ExpectedEvent {
	settings := p.Settings
	if rules.Settings != nil {
		settings = *rules.Settings
	}
	slack := rules.Slack
	if slack <= 0 {
		slack = time.Minute
	}
	o := &alertOracle{plan: p, settings: settings, slack: slack, keys: map[string]*keyState{}, watch: map[int64]*silence{}, since: map[int]time.Time{}}
	o.run()
	return o.events
}

type alertOracle struct {
	plan     *AlertPlan
	settings runlet.AlertSettings
	slack    time.Duration
	keys     map[string]*keyState
	watch    map[int64]*silence
	since    map[int]time.Time // offline gateways: since when
	offline  map[int]bool      // gateways with an open offline alert
	events   []ExpectedEvent
}

func (o *alertOracle) key(k string) *keyState {
	s := o.keys[k]
	if s == nil {
		s = &keyState{}
		o.keys[k] = s
	}
	return s
}

// due says whether people are told of key s at now: never told, or a
// period since.
func (o *alertOracle) due(s *keyState, now time.Time) bool {
	return s.notified.IsZero() || now.Sub(s.notified) >= o.settings.Period()
}

// run plays the plan: the leader's decisions due before each delivery or
// presence change are taken first, at their due time.
func (o *alertOracle) run() {
	o.offline = map[int]bool{}
	type change struct {
		at       time.Time
		delivery *Delivery
		presence *PresenceChange
	}
	var changes []change
	for i := range o.plan.Deliveries {
		changes = append(changes, change{at: o.plan.Deliveries[i].At, delivery: &o.plan.Deliveries[i]})
	}
	for i := range o.plan.Presence {
		changes = append(changes, change{at: o.plan.Presence[i].At, presence: &o.plan.Presence[i]})
	}
	// A presence change first, then the deliveries of that time: a device
	// back online delivers its spool.
	slices.SortStableFunc(changes, func(a, b change) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(boolInt(a.delivery != nil), boolInt(b.delivery != nil))
	})
	for _, c := range changes {
		o.leader(c.at, false)
		if c.presence != nil {
			o.presence(*c.presence)
			continue
		}
		o.deliver(*c.delivery)
	}
	o.leader(o.plan.End, true)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// leader takes the leader's decisions due before until (at or before it
// when through).
func (o *alertOracle) leader(until time.Time, through bool) {
	for {
		var (
			at     time.Time
			sensor int64
			gw     = -1
		)
		for id, w := range o.watch {
			if !w.due.IsZero() && (at.IsZero() || w.due.Before(at) || w.due.Equal(at) && id < sensor) {
				at, sensor, gw = w.due, id, -1
			}
		}
		for g, since := range o.since {
			if o.offline[g] {
				continue
			}
			d := since.Add(o.settings.Offline())
			if at.IsZero() || d.Before(at) {
				at, sensor, gw = d, 0, g
			}
		}
		if at.IsZero() || at.After(until) || at.Equal(until) && !through {
			return
		}
		if gw >= 0 {
			o.deviceOffline(gw, at)
		} else {
			o.silent(sensor, at)
		}
	}
}

func (o *alertOracle) deviceOffline(g int, at time.Time) {
	o.offline[g] = true
	name := o.plan.Gateways[g].Name
	key := runlet.DeviceKey(name, runlet.AlertOffline)
	s := o.key(key)
	s.open, s.at, s.told = true, at, false
	e := ExpectedEvent{Key: key, Kind: runlet.AlertOffline, Device: name, Event: runlet.EventOpened, Opens: true, Time: at, Deadline: at.Add(o.slack)}
	if o.due(s, at) {
		e.Told, s.told, s.notified = true, true, at
	}
	o.events = append(o.events, e)
}

func (o *alertOracle) silent(sensor int64, at time.Time) {
	w := o.watch[sensor]
	w.due = time.Time{} // a mark with an open alert is not due
	key := runlet.SilenceKey(sensor)
	s := o.key(key)
	s.open, s.at, s.told = true, at, false
	sn, _ := o.plan.Sensor(sensor)
	period := o.settings.SilenceOf(sn.Rules)
	e := ExpectedEvent{
		Key: key, Kind: runlet.AlertSilence, Sensor: sensor, Device: w.device, Event: runlet.EventOpened, Opens: true,
		Time: at, Deadline: at.Add(o.slack),
		HasValue: true, Value: period.Seconds(), ValueTol: o.slack.Seconds(), Limit: period.Seconds(),
	}
	for g, since := range o.since {
		if o.plan.Gateways[g].Name == w.device {
			e.Summary = fmt.Sprintf("gateway %s offline since %s UTC", w.device, since.UTC().Format("15:04"))
		}
	}
	if o.due(s, at) {
		e.Told, s.told, s.notified = true, true, at
	}
	o.events = append(o.events, e)
}

func (o *alertOracle) presence(c PresenceChange) {
	if !c.Online {
		o.since[c.Gateway] = c.At
		return
	}
	delete(o.since, c.Gateway)
	if !o.offline[c.Gateway] {
		return
	}
	delete(o.offline, c.Gateway)
	name := o.plan.Gateways[c.Gateway].Name
	key := runlet.DeviceKey(name, runlet.AlertOffline)
	s := o.key(key)
	s.open = false
	o.events = append(o.events, ExpectedEvent{Key: key, Kind: runlet.AlertOffline, Device: name, Event: runlet.EventResolved, Told: s.told, Time: c.At, Deadline: c.At.Add(o.slack)})
}

// deliver takes one batch at its time: the sensors heard (and their
// silence resolved), then each sensor's readings in time order.
func (o *alertOracle) deliver(d Delivery) {
	now := d.At
	device := o.plan.Gateways[d.Gateway].Name
	var order []int64
	bySensor := map[int64][]Send{}
	for _, m := range d.Sends {
		if _, ok := bySensor[m.Sensor]; !ok {
			order = append(order, m.Sensor)
		}
		bySensor[m.Sensor] = append(bySensor[m.Sensor], m)
	}
	for _, id := range order {
		sn, _ := o.plan.Sensor(id)
		o.watch[id] = &silence{heard: now, due: now.Add(o.settings.SilenceOf(sn.Rules)), device: device}
		key := runlet.SilenceKey(id)
		if s := o.key(key); s.open {
			s.open = false
			o.events = append(o.events, ExpectedEvent{Key: key, Kind: runlet.AlertSilence, Sensor: id, Device: device, Event: runlet.EventResolved, Told: s.told, Time: now, Deadline: now})
		}
	}
	for _, id := range order {
		sn, _ := o.plan.Sensor(id)
		th := sn.Rules.Thresholds.Or(o.settings.Defaults.Thresholds)
		ms := bySensor[id]
		slices.SortStableFunc(ms, func(a, b Send) int { return cmp.Compare(a.Time, b.Time) })
		for _, m := range ms {
			r := ReadingOf(m)
			for _, metric := range runlet.Metrics {
				v, ok := r.Value(metric)
				if ok {
					o.reading(sn, device, metric, r.Time, v, th, now)
				}
			}
		}
	}
}

// reading applies the threshold rule to one value.
func (o *alertOracle) reading(sn AlertSensor, device string, metric runlet.Metric, t time.Time, v float64, th runlet.Thresholds, now time.Time) {
	key := runlet.ThresholdKey(sn.ID, metric)
	s := o.key(key)
	e := ExpectedEvent{Key: key, Kind: runlet.AlertThreshold, Sensor: sn.ID, Device: device, Metric: metric, Time: now, Deadline: now, HasValue: true, Value: v}
	bound, limit, out := breach(th, metric, v)
	switch {
	case out && !s.open:
		s.open, s.at, s.told = true, t, false
		e.Event, e.Opens, e.Bound, e.Limit = runlet.EventOpened, true, bound, limit
		if o.due(s, now) {
			e.Told, s.told, s.notified = true, true, now
		}
	case out && !t.Before(s.at) && o.due(s, now):
		e.Event, e.Told, e.Bound, e.Limit = runlet.EventReminder, true, bound, limit
		if !s.told {
			e.Event = runlet.EventOpened
		}
		s.told, s.notified = true, now
	case !out && s.open && !t.Before(s.at):
		s.open = false
		e.Event, e.Told, e.HasValue = runlet.EventResolved, s.told, false
	default:
		return
	}
	o.events = append(o.events, e)
}

// breach is the range rule written out again, not runlet's Breach: a
// value above the maximum or below the minimum is out; one equal to a
// bound is in.
func breach(th runlet.Thresholds, m runlet.Metric, v float64) (runlet.Bound, float64, bool) {
	var lo, hi *float64
	switch m {
	case runlet.MetricTemp:
		lo, hi = th.TempMin, th.TempMax
	case runlet.MetricBatt:
		lo, hi = th.BattMin, th.BattMax
	}
	if hi != nil && v > *hi {
		return runlet.BoundMax, *hi, true
	}
	if lo != nil && v < *lo {
		return runlet.BoundMin, *lo, true
	}
	return "", 0, false
}

// ObservedEvent is one decision a server took, as read back from its
// store (ObservedEvents).
type ObservedEvent struct {
	Alert    int64
	Key      string
	Kind     runlet.AlertKind
	Event    runlet.AlertEvent
	Opens    bool
	Time     time.Time
	Told     bool
	Notices  int // notifications queued for it, one per channel
	HasValue bool
	Value    float64
	Limit    float64
	Bound    runlet.Bound
	Summary  string
}

func (e ObservedEvent) String() string {
	s := fmt.Sprintf("%s %s (alert %d)", e.Key, e.Event, e.Alert)
	if e.Event == runlet.EventOpened && !e.Opens {
		s += " (first told)"
	}
	if e.Told {
		s += fmt.Sprintf(", told (%d notifications),", e.Notices)
	} else {
		s += ", not told,"
	}
	s += " at " + clock(e.Time)
	if e.HasValue {
		s += fmt.Sprintf(", value %v", e.Value)
		if e.Bound != "" {
			s += fmt.Sprintf(" (%s %v)", e.Bound, e.Limit)
		}
	}
	return s
}

// notice is what ObservedEvents reads of a notification's payload.
type notice struct {
	Value *float64     `json:"value"`
	Limit *float64     `json:"limit"`
	Bound runlet.Bound `json:"bound"`
}

// ObservedEvents turns a server's alerts and their notifications into
// decisions: each alert opened (told when a notification "opened" was
// queued at its opening), each later "opened" or "reminder"
// notification, and its resolution (told when a "resolved" one was
// queued). Notifications of one alert, event and time through several
// channels are one decision; their payload gives the value.
func ObservedEvents(alerts []runlet.Alert, notes []runlet.Notification) []ObservedEvent {
	type group struct {
		alert int64
		event runlet.AlertEvent
		at    int64
	}
	byAlert := map[int64]map[group][]runlet.Notification{}
	for _, n := range notes {
		g := group{n.Alert, n.Event, n.Created.UnixNano()}
		if byAlert[n.Alert] == nil {
			byAlert[n.Alert] = map[group][]runlet.Notification{}
		}
		byAlert[n.Alert][g] = append(byAlert[n.Alert][g], n)
	}
	var out []ObservedEvent
	for _, a := range alerts {
		groups := byAlert[a.ID]
		base := ObservedEvent{Alert: a.ID, Key: a.Key, Kind: a.Kind, Summary: a.Summary}
		opened := base
		opened.Event, opened.Opens, opened.Time = runlet.EventOpened, true, a.Opened
		if ns := groups[group{a.ID, runlet.EventOpened, a.Opened.UnixNano()}]; len(ns) > 0 {
			fill(&opened, ns)
			delete(groups, group{a.ID, runlet.EventOpened, a.Opened.UnixNano()})
		}
		out = append(out, opened)
		var resolved *ObservedEvent
		if !a.Resolved.IsZero() {
			r := base
			r.Event, r.Time = runlet.EventResolved, a.Resolved
			if ns := groups[group{a.ID, runlet.EventResolved, a.Resolved.UnixNano()}]; len(ns) > 0 {
				fill(&r, ns)
				r.HasValue = false
				delete(groups, group{a.ID, runlet.EventResolved, a.Resolved.UnixNano()})
			}
			resolved = &r
		}
		var rest []ObservedEvent
		for g, ns := range groups {
			e := base
			e.Event, e.Time = g.event, time.Unix(0, g.at).UTC()
			fill(&e, ns)
			if e.Event == runlet.EventResolved {
				e.HasValue = false
			}
			rest = append(rest, e)
		}
		slices.SortFunc(rest, func(x, y ObservedEvent) int { return x.Time.Compare(y.Time) })
		out = append(out, rest...)
		if resolved != nil {
			out = append(out, *resolved)
		}
	}
	slices.SortStableFunc(out, func(x, y ObservedEvent) int { return x.Time.Compare(y.Time) })
	return out
}

// fill marks e told by ns and reads the value from the first payload.
func fill(e *ObservedEvent, ns []runlet.Notification) {
	e.Told, e.Notices = true, len(ns)
	var p notice
	if err := json.Unmarshal([]byte(ns[0].Payload), &p); err == nil && p.Value != nil {
		e.HasValue, e.Value, e.Bound = true, *p.Value, p.Bound
		if p.Limit != nil {
			e.Limit = *p.Limit
		}
	}
}

// AlertDiff is how a server's decisions differ from the oracle's.
type AlertDiff struct {
	// Missing are expected decisions the server did not take; Extra
	// decisions it took that none expected.
	Missing, Extra []string
	// WrongTime are decisions taken outside their window; Wrong ones
	// taken with another value, bound, summary or told/not told.
	WrongTime, Wrong []string
}

// OK reports whether the server took exactly the oracle's decisions.
func (d AlertDiff) OK() bool { return len(d.Missing)+len(d.Extra)+len(d.WrongTime)+len(d.Wrong) == 0 }

// String is a report for a test failure: counts, then up to 20 entries
// of each list.
func (d AlertDiff) String() string {
	if d.OK() {
		return "the server took exactly the oracle's alert decisions, each in time"
	}
	var b strings.Builder
	for _, l := range []struct {
		name string
		list []string
	}{{"missing", d.Missing}, {"extra", d.Extra}, {"wrong time", d.WrongTime}, {"wrong", d.Wrong}} {
		if len(l.list) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s: %d\n", l.name, len(l.list))
		for i, e := range l.list {
			if i == 20 {
				fmt.Fprintf(&b, "  … and %d more\n", len(l.list)-20)
				break
			}
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// CompareAlerts reports how got differs from expected. Decisions of a key
// are matched in time order: first each expected one to an observed one
// of the same kind (event, opening or not, told or not) in its window,
// then what is left in order, as a decision taken at the wrong time or
// wrongly told, and what is still left as missing or extra.
func CompareAlerts(expected []ExpectedEvent, got []ObservedEvent) AlertDiff {
	var d AlertDiff
	used := make([]bool, len(got))
	match := make([]int, len(expected))
	same := func(e ExpectedEvent, g ObservedEvent) bool {
		return e.Key == g.Key && e.Event == g.Event && e.Opens == g.Opens
	}
	for i, e := range expected {
		match[i] = -1
		for j, g := range got {
			if !used[j] && same(e, g) && e.Told == g.Told && !g.Time.Before(e.Time) && !g.Time.After(e.Deadline) {
				used[j], match[i] = true, j
				break
			}
		}
	}
	for i, e := range expected {
		if match[i] >= 0 {
			checkValue(&d, e, got[match[i]])
			continue
		}
		for j, g := range got {
			if used[j] || !same(e, g) {
				continue
			}
			used[j], match[i] = true, j
			if e.Told != g.Told {
				d.Wrong = append(d.Wrong, fmt.Sprintf("want %s; got %s", e, g))
			} else {
				d.WrongTime = append(d.WrongTime, fmt.Sprintf("want %s; got %s", e, g))
			}
			break
		}
		if match[i] < 0 {
			d.Missing = append(d.Missing, e.String())
		}
	}
	for j, g := range got {
		if !used[j] {
			d.Extra = append(d.Extra, g.String())
		}
	}
	return d
}

func checkValue(d *AlertDiff, e ExpectedEvent, g ObservedEvent) {
	if e.Summary != "" && !strings.Contains(g.Summary, e.Summary) {
		d.Wrong = append(d.Wrong, fmt.Sprintf("want %s with a summary saying %q; got %q", e, e.Summary, g.Summary))
	}
	if !e.HasValue || !g.HasValue {
		return
	}
	if math.Abs(e.Value-g.Value) > e.ValueTol+1e-9 || e.Limit != g.Limit || e.Bound != g.Bound {
		d.Wrong = append(d.Wrong, fmt.Sprintf("want %s; got %s", e, g))
	}
}
