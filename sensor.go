package runlet

import (
	"fmt"
	"time"
)

// Telemetry's words: a sensor (the seed's "device") is a thermometer or a
// battery near a device (the seed's "gateway"); the device relays its
// readings to the server, which keeps them as series.

// Metric names a quantity a sensor reports.
type Metric string

// The metrics of the seed's reading: {"temp":15,"batt":75}. Temperature
// is in degrees Celsius, battery in percent.
const (
	MetricTemp Metric = "temp"
	MetricBatt Metric = "batt"
)

// Metrics lists every metric, in the order a Reading holds them.
var Metrics = []Metric{MetricTemp, MetricBatt}

// Valid reports whether m is a known metric.
func (m Metric) Valid() bool { return m.index() >= 0 }

func (m Metric) index() int {
	for i, k := range Metrics {
		if k == m {
			return i
		}
	}
	return -1
}

// SensorState says whether a sensor's readings are taken: an inactive
// sensor's readings are refused and counted, as in the seed.
type SensorState string

const (
	SensorActive   SensorState = "active"
	SensorInactive SensorState = "inactive"
)

// Valid reports whether s is a known state.
func (s SensorState) Valid() bool { return s == SensorActive || s == SensorInactive }

// Sensor is a sensor registered in a workspace. Its id is unique across
// the server (the seed's numeric id), so that a reading naming another
// workspace's sensor is recognised as such and refused. Its secret is
// stored hashed and never read back.
type Sensor struct {
	ID        int64       `json:"id"`
	Workspace string      `json:"workspace"`
	Name      string      `json:"name"`
	Owner     string      `json:"owner,omitempty"`
	Location  string      `json:"location,omitempty"`
	Contact   string      `json:"contact,omitempty"`
	State     SensorState `json:"state"`
	Created   time.Time   `json:"created"`
	// LastSeen is the sensor time of its latest stored reading; zero when
	// it never reported. Latest holds the latest value of each metric it
	// reported, by metric.
	LastSeen time.Time          `json:"lastSeen,omitzero"`
	Latest   map[Metric]float64 `json:"latest,omitempty"`
	// Rules are the sensor's own thresholds and silence period; what is
	// unset takes the workspace's AlertSettings.Defaults.
	Rules SensorRules `json:"rules"`
	// Status is what the API says of the sensor (StatusOf with the
	// workspace's open alerts); the store leaves it empty.
	Status SensorStatus `json:"status,omitempty"`
}

// MaxSensorSecret bounds a sensor secret's length in bytes.
const MaxSensorSecret = 128

// Reading is one measurement of one sensor: a time and a value of some of
// the metrics (the seed's reading holds temperature and battery together).
type Reading struct {
	Sensor int64
	// Time is when the sensor measured it, as normalised by ReadingTime.
	Time time.Time
	// Values holds a value per metric of Metrics, in that order; Has says
	// which of them the reading carries.
	Values [2]float64
	Has    MetricSet
}

// MetricSet is a set of metrics, one bit per index in Metrics.
type MetricSet uint8

// Value returns the reading's value of m and whether it has one.
func (r Reading) Value(m Metric) (float64, bool) {
	i := m.index()
	if i < 0 || r.Has&(1<<i) == 0 {
		return 0, false
	}
	return r.Values[i], true
}

// Set gives the reading the value v of m. It panics on an unknown metric.
func (r *Reading) Set(m Metric, v float64) {
	i := m.index()
	if i < 0 {
		panic(fmt.Sprintf("runlet: unknown metric %q", m))
	}
	r.Values[i] = v
	r.Has |= 1 << i
}

// RawReading is a reading as the server archived it (the seed's raw
// table): who relayed it, its place in that device's stream, and what
// the sensor said of its time when ReadingTime replaced it. The archive
// is replayable per sensor in insertion order (ID).
type RawReading struct {
	Reading
	// ID orders the archive: larger is stored later. Set by the store.
	ID int64
	// Device is the device that relayed the reading, Seq its number in
	// that device's stream: unique per device, so that a reading
	// delivered twice is archived once.
	Device string
	Seq    uint64
	// Accepted is when the device accepted the reading (its clock).
	Accepted time.Time
	// SentTime is the time the sensor sent, in unix milliseconds, when
	// ReadingTime did not take it (TimeReplaced); 0 otherwise.
	SentTime     int64
	TimeReplaced bool
	// Stored is when the server archived it (the store's clock).
	Stored time.Time
}

// SeriesPoint is one bucket of a series as a query returns it: the start
// of the bucket and the minimum, maximum, mean and count of its values. A
// query without a step returns every point, each a bucket of one.
type SeriesPoint struct {
	Time  time.Time `json:"time"`
	Min   float64   `json:"min"`
	Max   float64   `json:"max"`
	Mean  float64   `json:"mean"`
	Count int       `json:"count"`
}

// The plausible range of a reading's time (see ReadingTime).
var (
	// EarliestReading: a time before 2000 is a sensor clock never set.
	EarliestReading = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	// MaxReadingAhead: a time further ahead of the device's clock than
	// this is a sensor clock gone wrong.
	MaxReadingAhead = 24 * time.Hour
)

// millisFrom is where a sensor's time switches from seconds to
// milliseconds: 10^12 seconds is in the year 33658, 10^12 milliseconds
// in 2001.
const millisFrom = 1_000_000_000_000

// SensorTime turns the time a sensor sends into a time: unix seconds, or
// unix milliseconds when it is 10^12 or more. The seed never states the
// unit; its example is 123.
func SensorTime(v int64) time.Time {
	if v >= millisFrom || v <= -millisFrom {
		return time.UnixMilli(v).UTC()
	}
	return time.Unix(v, 0).UTC()
}

// ReadingTime decides the time a reading is stored at: the sensor's own
// time when it is plausible (from 2000 to MaxReadingAhead after the
// device accepted it), and otherwise the time the device accepted it,
// with replaced true, so that the archive keeps what the sensor sent.
// A reading without a time (sent false) takes the accepted time too, but
// is not counted as replaced. The seed's example ("time":123, in 1970)
// is thus stored at the time it arrived.
func ReadingTime(sent int64, hasSent bool, accepted time.Time) (t time.Time, replaced bool) {
	if !hasSent {
		return accepted.UTC(), false
	}
	t = SensorTime(sent)
	if t.Before(EarliestReading) || t.After(accepted.Add(MaxReadingAhead)) {
		return accepted.UTC(), true
	}
	return t, false
}

// SensorSecretNumber is the secret a JSON number stands for, wherever a
// sensor secret is read (a sensor's message, the API): the number's exact
// text when it is digits alone, so that the seed's secrets above 2^53
// (64089519511846157) are kept exactly and 789 and "789" are one secret.
// ok is false for a sign, a fraction or an exponent, and for a length
// beyond MaxSensorSecret.
func SensorSecretNumber(text string) (secret string, ok bool) {
	if text == "" || len(text) > MaxSensorSecret {
		return "", false
	}
	for i := 0; i < len(text); i++ {
		if text[i] < '0' || text[i] > '9' {
			return "", false
		}
	}
	return text, true
}
