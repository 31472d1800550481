package runlet

import (
	"fmt"
	"strconv"
	"time"
)

// Alerting's words (R-TEL-3 to R-TEL-5): a rule (a sensor's thresholds,
// its silence period, a device's offline limit) is broken, an Alert opens
// for the thing it is about, the people the workspace routes that kind of
// alert to are told through their channels (a Notification each), and the
// alert is resolved when the thing is back (a recovery, told the same
// way). Of one key (a sensor and metric, a sensor's silence, a device)
// there is at most one open alert, and people are told of a key at most
// once an AlertSettings.Every (the seed's "once an hour per sensor and
// metric"), however many readings break the rule and however many server
// processes see them.

// AlertKind says what an alert is about.
type AlertKind string

const (
	// AlertThreshold: a sensor's value left the range its thresholds set.
	AlertThreshold AlertKind = "threshold"
	// AlertSilence: a sensor has not reported for its silence period.
	AlertSilence AlertKind = "silence"
	// AlertOffline: a device has been offline longer than the workspace's
	// limit.
	AlertOffline AlertKind = "offline"
	// AlertOutbox: a device's telemetry outbox is filling or dropping
	// readings.
	AlertOutbox AlertKind = "outbox"
	// AlertRefused: readings relayed by a device were refused for bad
	// credentials (a wrong secret, another workspace's sensor).
	AlertRefused AlertKind = "refused"
)

// AlertKinds lists every kind.
var AlertKinds = []AlertKind{AlertThreshold, AlertSilence, AlertOffline, AlertOutbox, AlertRefused}

// Valid reports whether k is a known kind.
func (k AlertKind) Valid() bool {
	for _, v := range AlertKinds {
		if v == k {
			return true
		}
	}
	return false
}

// Bound says which threshold a value crossed.
type Bound string

const (
	BoundMin Bound = "min"
	BoundMax Bound = "max"
)

// AlertKey is the key of an alert: at most one alert of a key is open, and
// people are told of a key at most once a period. It is spelt here and
// nowhere else.
func ThresholdKey(sensor int64, m Metric) string {
	return "sensor/" + strconv.FormatInt(sensor, 10) + "/" + string(m)
}

// SilenceKey is the key of a sensor's silence alerts.
func SilenceKey(sensor int64) string {
	return "sensor/" + strconv.FormatInt(sensor, 10) + "/silence"
}

// DeviceKey is the key of a device's alerts of kind k (offline, outbox,
// refused).
func DeviceKey(device string, k AlertKind) string { return "device/" + device + "/" + string(k) }

// Alert is one breach of a rule, from when it was seen to when it was
// resolved.
type Alert struct {
	ID        int64     `json:"id"`
	Workspace string    `json:"workspace"`
	Kind      AlertKind `json:"kind"`
	Key       string    `json:"key"`
	// Sensor is the sensor it is about (threshold, silence); 0 otherwise.
	Sensor int64 `json:"sensor,omitempty"`
	// Device is the device it is about (offline, outbox, refused), or the
	// device that relayed the sensor's last reading.
	Device string `json:"device,omitempty"`
	// Metric, Bound, Value and Limit describe a threshold alert: the
	// value of Metric crossed the Bound whose value is Limit. A silence
	// alert's Value is how long the sensor has been silent, in seconds,
	// and its Limit the silence period.
	Metric Metric  `json:"metric,omitempty"`
	Bound  Bound   `json:"bound,omitempty"`
	Value  float64 `json:"value"`
	Limit  float64 `json:"limit"`
	// At is when the breach happened: the reading's time, or when the
	// silence period or the offline limit ran out.
	At time.Time `json:"at"`
	// Opened and Resolved are the server's clock; Resolved is zero while
	// the alert is open.
	Opened   time.Time `json:"opened"`
	Resolved time.Time `json:"resolved,omitzero"`
	// Summary says what happened, for people ("Fridge 3 (kitchen): 9.5 °C
	// is above 8 °C at 10:42"); Recovery says how it ended.
	Summary  string `json:"summary"`
	Recovery string `json:"recovery,omitempty"`
	// Notified is when people were last told of it (zero: never, the
	// period had not passed since they were told of an earlier alert of
	// the key); Reminders counts the reminders sent while it stayed open.
	Notified  time.Time `json:"notified,omitzero"`
	Reminders int       `json:"reminders,omitempty"`
}

// Open reports whether the alert is not resolved.
func (a Alert) Open() bool { return a.Resolved.IsZero() }

// Thresholds are the range of a sensor's values; a nil bound is not
// checked. On a sensor, a nil bound takes the workspace's default.
type Thresholds struct {
	TempMin *float64 `json:"tempMin,omitempty"`
	TempMax *float64 `json:"tempMax,omitempty"`
	BattMin *float64 `json:"battMin,omitempty"`
	BattMax *float64 `json:"battMax,omitempty"`
}

// Bounds returns the range of metric m: nil where unbounded.
func (t Thresholds) Bounds(m Metric) (lo, hi *float64) {
	switch m {
	case MetricTemp:
		return t.TempMin, t.TempMax
	case MetricBatt:
		return t.BattMin, t.BattMax
	}
	return nil, nil
}

// Or returns t with each nil bound taken from d.
func (t Thresholds) Or(d Thresholds) Thresholds {
	or := func(a, b *float64) *float64 {
		if a != nil {
			return a
		}
		return b
	}
	return Thresholds{or(t.TempMin, d.TempMin), or(t.TempMax, d.TempMax), or(t.BattMin, d.BattMin), or(t.BattMax, d.BattMax)}
}

// Check returns an error naming the first range whose minimum is above
// its maximum.
func (t Thresholds) Check() error {
	for _, m := range Metrics {
		lo, hi := t.Bounds(m)
		if lo != nil && hi != nil && *lo > *hi {
			return Errorf(EINVALID, "The %s minimum (%g) is above its maximum (%g).", m, *lo, *hi)
		}
	}
	return nil
}

// Breach returns the bound v crosses and its limit, ok false when v is in
// the range (a value equal to a bound is in it).
func (t Thresholds) Breach(m Metric, v float64) (b Bound, limit float64, ok bool) {
	lo, hi := t.Bounds(m)
	switch {
	case hi != nil && v > *hi:
		return BoundMax, *hi, true
	case lo != nil && v < *lo:
		return BoundMin, *lo, true
	}
	return "", 0, false
}

// SensorRules are a sensor's own alert rules; what is unset takes the
// workspace's default (AlertSettings).
type SensorRules struct {
	Thresholds
	// Silence is how long the sensor may stay silent before an alert; 0
	// takes the workspace's default.
	Silence Duration `json:"silence,omitempty"`
}

// Audience says who is told of a kind of alert: the sensor's owner, the
// workspace's admins, or both (seed tables 3.1/3.2: temperature and
// silence to the owner; battery, device and system alerts to the admins).
type Audience string

const (
	AudienceOwner  Audience = "owner"
	AudienceAdmins Audience = "admins"
	AudienceBoth   Audience = "both"
)

// Valid reports whether a is a known audience.
func (a Audience) Valid() bool { return a == AudienceOwner || a == AudienceAdmins || a == AudienceBoth }

// Route names what is routed: a kind, and for threshold alerts the metric
// ("threshold.temp", "threshold.batt"), so that a battery running down
// goes to the admins and a warm fridge to its owner.
type Route string

// RouteOf returns the route of an alert of kind k about metric m.
func RouteOf(k AlertKind, m Metric) Route {
	if k == AlertThreshold && m != "" {
		return Route(string(k) + "." + string(m))
	}
	return Route(k)
}

// DefaultRouting is who gets what when a workspace never said.
func DefaultRouting() map[Route]Audience {
	return map[Route]Audience{
		RouteOf(AlertThreshold, MetricTemp): AudienceOwner,
		RouteOf(AlertThreshold, MetricBatt): AudienceAdmins,
		Route(AlertSilence):                 AudienceOwner,
		Route(AlertOffline):                 AudienceAdmins,
		Route(AlertOutbox):                  AudienceAdmins,
		Route(AlertRefused):                 AudienceAdmins,
	}
}

// Defaults of AlertSettings.
const (
	DefaultAlertEvery    = time.Hour
	DefaultSilence       = time.Hour
	DefaultOfflineLimit  = 15 * time.Minute
	MinAlertPeriod       = time.Second
	DefaultRefusedWindow = 0
)

// AlertSettings are a workspace's alert rules.
type AlertSettings struct {
	// Defaults are the thresholds and silence period of a sensor that
	// sets none of its own; Defaults.Silence 0 means DefaultSilence.
	Defaults SensorRules `json:"defaults"`
	// Every is the once-per-period rule: people are told of one key at
	// most once an Every; 0 means DefaultAlertEvery.
	Every Duration `json:"every,omitempty"`
	// OfflineLimit is how long a device may be offline before an alert;
	// 0 means DefaultOfflineLimit.
	OfflineLimit Duration `json:"offlineLimit,omitempty"`
	// Routing says who gets each route; a route not listed goes as
	// DefaultRouting says.
	Routing map[Route]Audience `json:"routing,omitempty"`
}

// Period returns Every or its default.
func (s AlertSettings) Period() time.Duration {
	return orDefault(time.Duration(s.Every), DefaultAlertEvery)
}

// SilenceOf returns the silence period of a sensor with rules r.
func (s AlertSettings) SilenceOf(r SensorRules) time.Duration {
	if r.Silence > 0 {
		return time.Duration(r.Silence)
	}
	return orDefault(time.Duration(s.Defaults.Silence), DefaultSilence)
}

// Offline returns OfflineLimit or its default.
func (s AlertSettings) Offline() time.Duration {
	return orDefault(time.Duration(s.OfflineLimit), DefaultOfflineLimit)
}

// AudienceOf returns who gets route r.
func (s AlertSettings) AudienceOf(r Route) Audience {
	if a, ok := s.Routing[r]; ok && a.Valid() {
		return a
	}
	if a, ok := DefaultRouting()[r]; ok {
		return a
	}
	return AudienceAdmins
}

// Check returns an EINVALID error for settings that cannot be kept.
func (s AlertSettings) Check() error {
	if err := s.Defaults.Check(); err != nil {
		return err
	}
	for name, d := range map[string]Duration{"period": s.Every, "silence period": s.Defaults.Silence, "offline limit": s.OfflineLimit} {
		if d != 0 && time.Duration(d) < MinAlertPeriod {
			return Errorf(EINVALID, "The %s must be at least %v, not %v.", name, MinAlertPeriod, time.Duration(d))
		}
	}
	for r, a := range s.Routing {
		if !a.Valid() {
			return Errorf(EINVALID, "Route %q goes to %q; say owner, admins or both.", r, a)
		}
		if _, ok := DefaultRouting()[r]; !ok {
			return Errorf(EINVALID, "There is no route %q; the routes are threshold.temp, threshold.batt, silence, offline, outbox and refused.", r)
		}
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// ChannelKind says how a channel reaches people.
type ChannelKind string

const (
	ChannelEmail   ChannelKind = "email"
	ChannelWebhook ChannelKind = "webhook"
	ChannelSMS     ChannelKind = "sms"
)

// Valid reports whether k is a known kind.
func (k ChannelKind) Valid() bool { return k == ChannelEmail || k == ChannelWebhook || k == ChannelSMS }

// Channel is a way to reach someone: an address, a URL or a phone number.
// A channel of a user (User set) carries the alerts routed to that user
// (as the owner of a sensor, or as an admin); a channel of the workspace
// (User empty) carries every alert of its Routes, or all when Routes is
// empty.
type Channel struct {
	ID        string      `json:"id"`
	Workspace string      `json:"workspace"`
	User      string      `json:"user,omitempty"`
	Kind      ChannelKind `json:"kind"`
	// Target is the e-mail address, the webhook's URL or the phone number.
	Target string `json:"target"`
	// Routes limits a workspace channel to these routes; empty: all.
	Routes   []Route   `json:"routes,omitempty"`
	Disabled bool      `json:"disabled,omitempty"`
	Created  time.Time `json:"created"`
	// HasSecret says that the channel has a secret (a webhook's signing
	// key), which is never returned.
	HasSecret bool `json:"hasSecret,omitempty"`
}

// NotificationState is where a notification is in the outbox.
type NotificationState string

const (
	NotificationPending NotificationState = "pending" // to be sent, or to be retried at Next
	NotificationSent    NotificationState = "sent"
	NotificationFailed  NotificationState = "failed" // gave up: Error says why
)

// AlertEvent is what a notification tells of its alert.
type AlertEvent string

const (
	EventOpened   AlertEvent = "opened"
	EventReminder AlertEvent = "reminder"
	EventResolved AlertEvent = "resolved"
	// EventTest: a test of a channel that someone asked for (POST
	// /channels/{id}/test); it belongs to no alert (Alert 0).
	EventTest AlertEvent = "test"
)

// Notification is one message about one alert through one channel: a row
// of the outbox, sent at least once and recorded. Its Key is the same at
// every attempt, so that a receiver can drop a message it has had.
type Notification struct {
	ID        int64       `json:"id"`
	Workspace string      `json:"workspace"`
	Alert     int64       `json:"alert"`
	Event     AlertEvent  `json:"event"`
	Channel   string      `json:"channel"`
	Kind      ChannelKind `json:"kind"`
	Target    string      `json:"target"`
	// Key is the idempotency key: the alert, the event and the channel.
	Key     string `json:"key"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
	// Payload is the JSON a webhook receives (and the SMS body's data).
	Payload  string            `json:"payload,omitempty"`
	State    NotificationState `json:"state"`
	Attempts int               `json:"attempts"`
	Error    string            `json:"error,omitempty"`
	Created  time.Time         `json:"created"`
	// Next is when the next attempt is due while pending.
	Next time.Time `json:"next,omitzero"`
	Sent time.Time `json:"sent,omitzero"`
}

// NotificationKey returns the idempotency key of the notification of
// event e of alert a through channel ch, the n-th of its kind (reminders
// count from 1; others are 0).
func NotificationKey(ws string, alert int64, e AlertEvent, n int, channel string) string {
	return fmt.Sprintf("runlet-%s-%d-%s-%d-%s", ws, alert, e, n, channel)
}

// SensorStatus is what the sensors list says of a sensor.
type SensorStatus string

const (
	SensorOK         SensorStatus = "ok"
	SensorOutOfRange SensorStatus = "out_of_range"
	SensorSilent     SensorStatus = "silent"
	SensorOff        SensorStatus = "inactive"
	SensorNew        SensorStatus = "never" // never reported
)

// StatusOf decides a sensor's status from its record and its open alerts
// (any of the workspace's; those of other sensors are ignored): inactive
// first, then silent, then out of range, then never reported, else ok.
func StatusOf(s Sensor, open []Alert) SensorStatus {
	if s.State == SensorInactive {
		return SensorOff
	}
	var silent, out bool
	for _, a := range open {
		if a.Sensor != s.ID || !a.Open() {
			continue
		}
		switch a.Kind {
		case AlertSilence:
			silent = true
		case AlertThreshold:
			out = true
		}
	}
	switch {
	case silent:
		return SensorSilent
	case out:
		return SensorOutOfRange
	case s.LastSeen.IsZero():
		return SensorNew
	}
	return SensorOK
}
