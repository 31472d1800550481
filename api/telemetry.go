package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/runlet/runlet"
)

// The sensors of a workspace and their readings (issue 13): registering
// sensors, querying their series and raw archive, replaying the archive,
// and the workspace's telemetry settings and counters.

// SensorSecret is a sensor's secret as the API takes it: a JSON string,
// or a JSON integer read exactly, never through float64, since the seed's
// secrets are integers above 2^53 (64089519511846157). An integer's
// decimal text is the secret, as it is in the seed's message ("auth"), so
// that 789 and "789" are the same secret. It is marshalled as a string.
type SensorSecret string

// UnmarshalJSON takes a string or a whole number (runlet.SensorSecretNumber);
// a sign, a fraction, an exponent or any other JSON value is refused,
// naming the field.
func (s *SensorSecret) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("secret: %w", err)
		}
		*s = SensorSecret(v)
		return nil
	}
	v, ok := runlet.SensorSecretNumber(string(b))
	if !ok {
		return fmt.Errorf("secret must be a string or a whole number without a sign (at most %d digits), not %.40s", runlet.MaxSensorSecret, b)
	}
	*s = SensorSecret(v)
	return nil
}

// NewSensor registers a sensor (POST /sensors). ID is unique across the
// server; Secret is what the sensor sends as "auth". State is active when
// empty.
type NewSensor struct {
	ID       int64              `json:"id"`
	Name     string             `json:"name,omitempty"`
	Secret   SensorSecret       `json:"secret"`
	Owner    string             `json:"owner,omitempty"`
	Location string             `json:"location,omitempty"`
	Contact  string             `json:"contact,omitempty"`
	State    runlet.SensorState `json:"state,omitempty"`
	// Rules are its own thresholds and silence period (issue 14); unset
	// bounds take the workspace's defaults.
	Rules *runlet.SensorRules `json:"rules,omitempty"`
}

// SensorUpdate changes a sensor (PATCH /sensors/{id}): each field given
// replaces the sensor's, each field left out (nil) keeps it. An empty
// string clears a text field; a secret cannot be cleared, only replaced.
type SensorUpdate struct {
	Name     *string             `json:"name,omitempty"`
	Owner    *string             `json:"owner,omitempty"`
	Location *string             `json:"location,omitempty"`
	Contact  *string             `json:"contact,omitempty"`
	State    *runlet.SensorState `json:"state,omitempty"`
	Secret   *SensorSecret       `json:"secret,omitempty"`
	// Rules, when given, replace the sensor's rules whole: a bound left
	// out of them takes the workspace's default (issue 14).
	Rules *runlet.SensorRules `json:"rules,omitempty"`
}

// Sensors is the answer of GET /sensors: the workspace's sensors by id,
// each with when it last reported and its latest values. No secret is
// ever part of it.
type Sensors struct {
	Sensors []runlet.Sensor `json:"sensors"`
}

// SeriesQuery asks for a sensor's series (GET /sensors/{id}/readings).
// From and To are RFC 3339 times, unix seconds, or relative to now ("-24h",
// "-7d", "now"); empty means the last 24 hours. Step is a duration ("5m")
// for buckets of that width, "auto" for at most about MaxPoints buckets,
// or empty for every point. Metric is temp when empty. Limit bounds the
// points (0 and anything above MaxPoints mean MaxPoints).
type SeriesQuery struct {
	Metric   runlet.Metric
	From, To string
	Step     string
	Limit    int
}

// MaxPoints is the most points or buckets one series query answers, and
// the number of buckets step=auto aims at.
const MaxPoints = 1000

// Series is the answer of GET /sensors/{id}/readings: the points of one
// metric of a sensor in [From, To), oldest first. Step is the width of
// the buckets ("" when every point is its own); Truncated says Limit
// points came and more may follow: ask for a later From or a wider Step.
type Series struct {
	Sensor    int64                `json:"sensor"`
	Metric    runlet.Metric        `json:"metric"`
	From      time.Time            `json:"from"`
	To        time.Time            `json:"to"`
	Step      string               `json:"step,omitempty"`
	Points    []runlet.SeriesPoint `json:"points"`
	Truncated bool                 `json:"truncated,omitempty"`
}

// RawQuery asks for a page of a sensor's raw archive (GET
// /sensors/{id}/raw): From and To as in SeriesQuery, After the Next of the
// page before (0 for the first), Limit as in the store (0: 50, at most
// 1000).
type RawQuery struct {
	From, To string
	After    int64
	Limit    int
}

// RawReading is one archived reading as the API answers it: never with
// the sensor's secret. Time is the time the reading is stored at; SentTime
// (unix milliseconds) is what the sensor sent when it was implausible and
// replaced (runlet.ReadingTime).
type RawReading struct {
	ID           int64                     `json:"id"`
	Sensor       int64                     `json:"sensor"`
	Time         time.Time                 `json:"time"`
	Values       map[runlet.Metric]float64 `json:"values"`
	Device       string                    `json:"device"`
	Seq          uint64                    `json:"seq"`
	Accepted     time.Time                 `json:"accepted"`
	SentTime     int64                     `json:"sentTime,omitempty"`
	TimeReplaced bool                      `json:"timeReplaced,omitempty"`
	Stored       time.Time                 `json:"stored"`
}

// RawReadingOf is r as the API answers it.
func RawReadingOf(r runlet.RawReading) RawReading {
	out := RawReading{
		ID: r.ID, Sensor: r.Sensor, Time: r.Time, Values: map[runlet.Metric]float64{},
		Device: r.Device, Seq: r.Seq, Accepted: r.Accepted, SentTime: r.SentTime, TimeReplaced: r.TimeReplaced, Stored: r.Stored,
	}
	for _, m := range runlet.Metrics {
		if v, ok := r.Value(m); ok {
			out.Values[m] = v
		}
	}
	return out
}

// RawReadings is a page of a sensor's raw archive in insertion order, and
// the cursor of the page after it (0 for the last page): pass it as after.
type RawReadings struct {
	Sensor   int64        `json:"sensor"`
	Readings []RawReading `json:"readings"`
	Next     int64        `json:"next,omitempty"`
}

// ReplayRequest replays a sensor's raw archive through the pipeline again
// (POST /sensors/{id}/replay), idempotently: From and To as in
// SeriesQuery; empty From means the whole archive, empty To means now.
type ReplayRequest struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// ReplayResponse says how many archived readings went through again.
type ReplayResponse struct {
	Replayed int `json:"replayed"`
}

// TelemetrySettings are a workspace's telemetry settings as the API
// answers them: Retention as a duration ("8784h", "366d").
type TelemetrySettings struct {
	Retention    string `json:"retention"`
	AutoRegister bool   `json:"autoRegister"`
}

// TelemetrySettingsUpdate changes them (PUT /telemetry/settings): a field
// left out keeps its value. Retention is a duration of an hour or more
// ("720h", "30d").
type TelemetrySettingsUpdate struct {
	Retention    *string `json:"retention,omitempty"`
	AutoRegister *bool   `json:"autoRegister,omitempty"`
}

// TelemetryStats is the answer of GET /telemetry/stats: what the server's
// telemetry pipeline did with the workspace's readings since it started
// (telemetry/ingest.Stats). BadKey, BadBatch and UnknownDevice count
// messages, the others readings. Accepted readings are Stored (new) or a
// Duplicate (delivered or replayed again); the other counts are refusals.
type TelemetryStats struct {
	Accepted       int64 `json:"accepted"`
	Stored         int64 `json:"stored"`
	Duplicate      int64 `json:"duplicate"`
	TimeReplaced   int64 `json:"timeReplaced"`
	BadKey         int64 `json:"badKey"`
	BadBatch       int64 `json:"badBatch"`
	UnknownDevice  int64 `json:"unknownDevice"`
	UnknownSensor  int64 `json:"unknownSensor"`
	BadSecret      int64 `json:"badSecret"`
	OtherWorkspace int64 `json:"otherWorkspace"`
	Inactive       int64 `json:"inactive"`
}
