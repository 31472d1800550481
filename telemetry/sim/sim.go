// Package sim simulates the sensors and gateways of the seed's test modes
// (R-TEL-8, seed §8.1): a deterministic Plan, made from a seed, of a fleet
// of gateways (our devices) and their sensors, the readings each sensor
// sends and when, and the Oracle of what the server must end with; an
// endless random Stream for load; and fault Scripts, data that the driver
// of a test or benchmark executes. It speaks the real protocol: the
// sensors' JSON lines a device's local endpoint takes, or the batches a
// device publishes.
package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/runlet/runlet"
)

// Config is the shape of a deterministic plan. Zero fields take the
// defaults documented.
type Config struct {
	// Seed makes the plan: the same seed and config give the same plan.
	Seed uint64
	// Gateways is the number of gateways (devices), 1 by default; Sensors
	// the number of sensors of each, 5 by default.
	Gateways, Sensors int
	// Readings is the number of readings each sensor sends, 20 by
	// default, Interval the time between two of them, 15 s by default.
	Readings int
	Interval time.Duration
	// End is the time of the last reading of each sensor; the zero time
	// means now, to the second. The readings are thus recent, within the
	// plausible range of runlet.ReadingTime, and stored at their own time.
	End time.Time
	// FirstID is the id of the first sensor, 1000 by default; the others
	// follow.
	FirstID int64
	// Refusals adds to every round, on gateway 0, one message of each
	// Refusal: a wrong secret, a sensor of another workspace (Plan.Foreign),
	// an inactive sensor (Plan.Inactive) and an unknown sensor. The server
	// must refuse and count each, and store nothing of them.
	Refusals bool
}

func (c Config) withDefaults() Config {
	if c.Gateways <= 0 {
		c.Gateways = 1
	}
	if c.Sensors <= 0 {
		c.Sensors = 5
	}
	if c.Readings <= 0 {
		c.Readings = 20
	}
	if c.Interval <= 0 {
		c.Interval = 15 * time.Second
	}
	if c.End.IsZero() {
		c.End = time.Now().UTC().Truncate(time.Second)
	}
	if c.FirstID <= 0 {
		c.FirstID = 1000
	}
	return c
}

// Sensor is a simulated sensor: what registering it needs (its id, name
// and secret) and the gateway that relays it (an index in Plan.Gateways).
type Sensor struct {
	ID      int64
	Name    string
	Secret  string
	Gateway int
	// SecretAsString makes its messages carry "auth" as a JSON string;
	// otherwise as a number (secrets are decimal integers above 2^53, as
	// the seed's are).
	SecretAsString bool
}

// Gateway is a simulated gateway: a device, by the index the driver maps
// to a real device, and its sensors' ids.
type Gateway struct {
	Index   int
	Sensors []int64
}

// Send is one message a sensor sends: its sensor, its time in unix
// milliseconds (the sensor's clock) and its values.
type Send struct {
	Sensor int64
	// Time is in unix milliseconds, as a sensor may send it.
	Time int64
	Temp float64
	Batt float64
	// Secret is the secret the message carries: the sensor's, or another
	// for a refusal.
	Secret string
	// Refusal, when not "", is why the server must refuse this message.
	Refusal Refusal
}

// Plan is a deterministic run: the fleet, the rounds of messages each
// gateway is fed, and the Oracle of what the server must end with.
type Plan struct {
	Config   Config
	Sensors  []Sensor
	Gateways []Gateway
	// Rounds[r][g] are the messages gateway g is fed in round r, in the
	// order it must take them; each sensor sends one reading per round.
	Rounds [][][]Send
	Oracle *Oracle
	// With Config.Refusals: Foreign is a sensor to register in another
	// workspace, Inactive one to register in the gateways' workspace and
	// make inactive, Unknown an id never registered.
	Foreign, Inactive Sensor
	Unknown           int64
}

// NewPlan makes the plan of c.
func NewPlan(c Config) *Plan {
	c = c.withDefaults()
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	p := &Plan{Config: c, Oracle: newOracle()}
	for g := range c.Gateways {
		p.Gateways = append(p.Gateways, Gateway{Index: g})
	}
	for i := range c.Gateways * c.Sensors {
		g := i % c.Gateways
		s := Sensor{
			ID:             c.FirstID + int64(i),
			Name:           fmt.Sprintf("sim-%d-%d", g, i/c.Gateways),
			Secret:         secret(rng),
			Gateway:        g,
			SecretAsString: i%2 == 1,
		}
		p.Sensors = append(p.Sensors, s)
		p.Gateways[g].Sensors = append(p.Gateways[g].Sensors, s.ID)
	}
	walks := make([]walk, len(p.Sensors))
	for i := range walks {
		walks[i] = newWalk(rng)
	}
	if c.Refusals {
		next := c.FirstID + int64(len(p.Sensors))
		p.Foreign = Sensor{ID: next, Name: "sim-foreign", Secret: secret(rng)}
		p.Inactive = Sensor{ID: next + 1, Name: "sim-inactive", Secret: secret(rng), SecretAsString: true}
		p.Unknown = next + 2
	}
	start := c.End.Add(-time.Duration(c.Readings-1) * c.Interval)
	for r := range c.Readings {
		round := make([][]Send, c.Gateways)
		for i, s := range p.Sensors {
			// Each sensor's clock has its own offset within the interval,
			// in milliseconds, so that times are not all round.
			t := start.Add(time.Duration(r)*c.Interval - time.Duration(i%1000)*time.Millisecond)
			temp, batt := walks[i].next(rng)
			m := Send{Sensor: s.ID, Time: t.UnixMilli(), Temp: temp, Batt: batt, Secret: s.Secret}
			round[s.Gateway] = append(round[s.Gateway], m)
			p.Oracle.expect(m)
		}
		if c.Refusals {
			round[0] = append(round[0], p.refusals(rng, start.Add(time.Duration(r)*c.Interval))...)
		}
		p.Rounds = append(p.Rounds, round)
	}
	return p
}

// refusals returns one message of each Refusal at time t.
func (p *Plan) refusals(rng *rand.Rand, t time.Time) []Send {
	ms := t.UnixMilli()
	known := p.Sensors[0]
	wrong := secret(rng)
	if wrong == known.Secret {
		wrong += "0"
	}
	out := []Send{
		{Sensor: known.ID, Time: ms - 1, Temp: 99, Batt: 1, Secret: wrong, Refusal: RefusedSecret},
		{Sensor: p.Foreign.ID, Time: ms, Temp: 99, Batt: 1, Secret: p.Foreign.Secret, Refusal: RefusedWorkspace},
		{Sensor: p.Inactive.ID, Time: ms, Temp: 99, Batt: 1, Secret: p.Inactive.Secret, Refusal: RefusedInactive},
		{Sensor: p.Unknown, Time: ms, Temp: 99, Batt: 1, Secret: wrong, Refusal: RefusedUnknown},
	}
	for _, m := range out {
		p.Oracle.expect(m)
	}
	return out
}

// Sensor returns the plan's sensor with the id.
func (p *Plan) Sensor(id int64) (Sensor, bool) {
	for _, s := range p.Sensors {
		if s.ID == id {
			return s, true
		}
	}
	return Sensor{}, false
}

// Total is the number of readings the plan stores.
func (p *Plan) Total() int { return p.Oracle.Readings() }

// secret returns a decimal integer above 2^53 and below 2^63, as the
// seed's secrets are (64089519511846157): exact only if parsed exactly.
func secret(rng *rand.Rand) string {
	const lo = 1 << 53
	return fmt.Sprint(lo + rng.Int64N(math.MaxInt64-lo))
}

// walk is a sensor's values: a fridge's temperature around its set point
// with occasional excursions (a door left open), and a battery running
// down.
type walk struct {
	set, temp float64
	excursion int // readings left in the current excursion
	batt      float64
}

func newWalk(rng *rand.Rand) walk {
	set := []float64{4, 4, 5, -18, -20}[rng.IntN(5)] // fridges and freezers
	return walk{set: set, temp: set, batt: 100 - float64(rng.IntN(30))}
}

func (w *walk) next(rng *rand.Rand) (temp, batt float64) {
	switch {
	case w.excursion > 0:
		w.excursion--
		w.temp += 1.5 + rng.Float64()
	case rng.IntN(25) == 0:
		w.excursion = 2 + rng.IntN(4)
	default:
		w.temp += (w.set-w.temp)*0.5 + rng.NormFloat64()*0.3
	}
	if rng.IntN(4) == 0 && w.batt > 0 {
		w.batt--
	}
	// Values a sensor sends: a tenth of a degree, whole percents.
	return math.Round(w.temp*10) / 10, w.batt
}

// ReadingOf returns the reading of m as the server must store it.
func ReadingOf(m Send) runlet.Reading {
	r := runlet.Reading{Sensor: m.Sensor, Time: runlet.SensorTime(m.Time)}
	r.Set(runlet.MetricTemp, m.Temp)
	r.Set(runlet.MetricBatt, m.Batt)
	return r
}
