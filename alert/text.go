package alert

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet"
)

// The words of alerts, for people (R-TEL-5: an alert carries the
// sensor's name, owner, location and contact, the value, the limit and
// the time).

var metricNames = map[runlet.Metric]string{runlet.MetricTemp: "temperature", runlet.MetricBatt: "battery"}
var metricUnits = map[runlet.Metric]string{runlet.MetricTemp: "°C", runlet.MetricBatt: "%"}

func metricName(m runlet.Metric) string {
	if n, ok := metricNames[m]; ok {
		return n
	}
	return string(m)
}

// quantity writes a value with its unit: "9.5 °C", "14 %".
func quantity(m runlet.Metric, v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if u := metricUnits[m]; u != "" {
		return s + " " + u
	}
	return s
}

// clock writes a time as people read it in an alert: "10:42 UTC".
func clock(t time.Time) string { return t.UTC().Format("15:04") + " UTC" }

// span writes a duration without its zero parts: "1h", "1h10m", "15m",
// "2s".
func span(d time.Duration) string {
	d = d.Round(time.Second)
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// sensorLabel names a sensor with its location and, withOwner, its
// owner: "Fridge 3 (kitchen, owner ann@example.com)".
func sensorLabel(sn *runlet.Sensor, withOwner bool) string {
	name := sn.Name
	if name == "" {
		name = fmt.Sprintf("Sensor %d", sn.ID)
	}
	var in []string
	if sn.Location != "" {
		in = append(in, sn.Location)
	}
	if withOwner && sn.Owner != "" {
		in = append(in, "owner "+sn.Owner)
	}
	if len(in) == 0 {
		return name
	}
	return name + " (" + strings.Join(in, ", ") + ")"
}

// thresholdSummary: "Fridge 3 (kitchen, owner ann@example.com):
// temperature 9.5 °C is above its maximum 8 °C at 10:42 UTC".
func thresholdSummary(sn *runlet.Sensor, m runlet.Metric, v float64, b runlet.Bound, limit float64, at time.Time) string {
	side := "above its maximum"
	if b == runlet.BoundMin {
		side = "below its minimum"
	}
	return fmt.Sprintf("%s: %s %s is %s %s at %s", sensorLabel(sn, true), metricName(m), quantity(m, v), side, quantity(m, limit), clock(at))
}

// thresholdRecovery: "Fridge 3 (…): temperature back to 6.1 °C at
// 11:05 UTC".
func thresholdRecovery(sn *runlet.Sensor, m runlet.Metric, v float64, at time.Time) string {
	return fmt.Sprintf("%s: %s back to %s at %s", sensorLabel(sn, true), metricName(m), quantity(m, v), clock(at))
}

// silenceSummary: "Fridge 3 (kitchen) has not reported since 09:30 UTC
// (silence period 1h); gateway pi-3 offline since 09:28 UTC".
func silenceSummary(sn *runlet.Sensor, heard time.Time, period time.Duration, gw *runlet.DevicePresence) string {
	s := fmt.Sprintf("%s has not reported since %s (silence period %s)", sensorLabel(sn, false), clock(heard), span(period))
	if gw != nil && !gw.Online {
		s += fmt.Sprintf("; gateway %s offline since %s", gw.Name, clock(gw.Since))
	}
	return s
}

// silenceRecovery: "Fridge 3 (kitchen) reported again at 10:40 UTC
// after 1h10m".
func silenceRecovery(sn *runlet.Sensor, now time.Time, silent time.Duration) string {
	return fmt.Sprintf("%s reported again at %s after %s", sensorLabel(sn, false), clock(now), span(silent))
}

func offlineSummary(device string, since time.Time, limit time.Duration) string {
	return fmt.Sprintf("Device %s offline since %s (limit %s)", device, clock(since), span(limit))
}

func offlineRecovery(device string, now time.Time, off time.Duration) string {
	return fmt.Sprintf("Device %s back online at %s after %s", device, clock(now), span(off))
}

func outboxSummary(device string, o *runlet.OutboxState, at time.Time) string {
	what := "dropped readings from its telemetry outbox"
	if o != nil && o.Full {
		what = "has its telemetry outbox full and drops readings"
	}
	s := fmt.Sprintf("Device %s %s at %s", device, what, clock(at))
	if o != nil && o.Dropped > 0 {
		s += fmt.Sprintf(" (%d dropped since its daemon started)", o.Dropped)
	}
	return s
}

func outboxRecovery(device string, now time.Time) string {
	return fmt.Sprintf("Device %s's telemetry outbox drops nothing any more at %s", device, clock(now))
}

func refusedSummary(device string, n float64, reasons string, since, last time.Time) string {
	return fmt.Sprintf("Device %s relayed %s readings refused for bad credentials (%s) since %s, the last at %s", device,
		strconv.FormatFloat(n, 'f', -1, 64), reasons, clock(since), clock(last))
}

func refusedRecovery(device string, last time.Time, period time.Duration) string {
	return fmt.Sprintf("Device %s relayed no refused reading since %s (%s)", device, clock(last), span(period))
}

// sensorInfo is the sensor in a notification's payload.
type sensorInfo struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Owner    string `json:"owner,omitempty"`
	Location string `json:"location,omitempty"`
	Contact  string `json:"contact,omitempty"`
}

// payload is the JSON a webhook receives.
type payload struct {
	Key string `json:"key"`
	// IdempotencyKey is the notification's key, the same at every
	// attempt (and in the Idempotency-Key header).
	IdempotencyKey string            `json:"idempotencyKey,omitempty"`
	Workspace      string            `json:"workspace"`
	Event          runlet.AlertEvent `json:"event"`
	Kind           runlet.AlertKind  `json:"kind"`
	Alert          runlet.Alert      `json:"alert"`
	Sensor         *sensorInfo       `json:"sensor,omitempty"`
	Device         string            `json:"device,omitempty"`
	Metric         runlet.Metric     `json:"metric,omitempty"`
	Value          float64           `json:"value"`
	Limit          float64           `json:"limit"`
	Bound          runlet.Bound      `json:"bound,omitempty"`
	At             time.Time         `json:"at"`
	Summary        string            `json:"summary"`
	Recovery       string            `json:"recovery,omitempty"`
}

// notifications renders the notifications of event ev of alert a (as it
// stands after the decision) through each channel. Their Key is left to
// the store, which alone knows the alert's ID when it opens.
func notifications(chans []runlet.Channel, ev runlet.AlertEvent, a runlet.Alert, sn *runlet.Sensor) []runlet.Notification {
	if len(chans) == 0 {
		return nil
	}
	out := make([]runlet.Notification, 0, len(chans))
	for _, c := range chans {
		n := runlet.Notification{Workspace: a.Workspace, Event: ev, Channel: c.ID, Kind: c.Kind, Target: c.Target}
		render(&n, a, sn)
		out = append(out, n)
	}
	return out
}

// rerender renders n again once the store knows the alert's ID (an alert
// that opens has none when its notifications are decided): it is
// store.AlertChange.Render. The sensor is read back from the payload.
func rerender(a runlet.Alert, n *runlet.Notification) {
	var p payload
	var sn *runlet.Sensor
	if json.Unmarshal([]byte(n.Payload), &p) == nil && p.Sensor != nil {
		sn = &runlet.Sensor{ID: p.Sensor.ID, Name: p.Sensor.Name, Owner: p.Sensor.Owner, Location: p.Sensor.Location, Contact: p.Sensor.Contact}
	}
	render(n, a, sn)
}

// render sets the subject, body and payload of n, a notification of
// event n.Event of alert a.
func render(n *runlet.Notification, a runlet.Alert, sn *runlet.Sensor) {
	ev := n.Event
	text := a.Summary
	subject := "[Runlet] " + a.Summary
	if ev == runlet.EventResolved {
		text = a.Recovery
		subject = "[Runlet] resolved: " + a.Recovery
	}
	p := payload{Key: a.Key, Workspace: a.Workspace, Event: ev, Kind: a.Kind, Alert: a, Device: a.Device, Metric: a.Metric,
		Value: a.Value, Limit: a.Limit, Bound: a.Bound, At: a.At, Summary: a.Summary, Recovery: a.Recovery}
	if sn != nil {
		p.Sensor = &sensorInfo{ID: sn.ID, Name: sn.Name, Owner: sn.Owner, Location: sn.Location, Contact: sn.Contact}
	}
	p.IdempotencyKey = n.Key
	body, _ := json.Marshal(p) // plain values: cannot fail
	n.Subject, n.Body, n.Payload = subject, mailBody(text, a, sn), string(body)
}

// mailBody is the text of an e-mail or SMS: the sentence, then the facts.
func mailBody(text string, a runlet.Alert, sn *runlet.Sensor) string {
	var b strings.Builder
	b.WriteString(text + "\n\n")
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	if sn != nil {
		line("Sensor", fmt.Sprintf("%s (id %d)", sn.Name, sn.ID))
		line("Owner", sn.Owner)
		line("Location", sn.Location)
		line("Contact", sn.Contact)
	}
	line("Device", a.Device)
	switch a.Kind {
	case runlet.AlertThreshold:
		line("Value", quantity(a.Metric, a.Value))
		side := "maximum"
		if a.Bound == runlet.BoundMin {
			side = "minimum"
		}
		line("Limit", quantity(a.Metric, a.Limit)+" ("+side+")")
	case runlet.AlertSilence:
		line("Silent for", span(time.Duration(a.Value*float64(time.Second))))
		line("Limit", span(time.Duration(a.Limit*float64(time.Second))))
	}
	line("Time", a.At.UTC().Format("2006-01-02 15:04:05 UTC"))
	if a.ID != 0 {
		line("Alert", fmt.Sprintf("%d (%s)", a.ID, a.Key))
	} else {
		line("Alert", a.Key)
	}
	return b.String()
}
