package sim

import (
	"math/rand/v2"
	"time"
)

// Stream is the endless random mode, for load: the fleet of a plan (its
// sensors, their secrets and gateways) sending readings for ever, each
// sensor's values a random walk and its times increasing. It keeps no
// oracle. A Stream is not safe for concurrent use; use one per goroutine
// (each gateway's own, from Split).
type Stream struct {
	Sensors []Sensor
	rng     *rand.Rand
	walks   []walk
	last    []int64 // each sensor's last time, unix ms
	next    int     // the sensor that sends next
	seq     uint64  // the gateway's next sequence number
}

// NewStream returns the random stream of sensors, from seed.
func NewStream(seed uint64, sensors []Sensor) *Stream {
	s := &Stream{Sensors: sensors, rng: rand.New(rand.NewPCG(seed, ^seed)), seq: 1}
	s.walks = make([]walk, len(sensors))
	s.last = make([]int64, len(sensors))
	for i := range sensors {
		s.walks[i] = newWalk(s.rng)
	}
	return s
}

// Split returns one stream per gateway of the plan, each over that
// gateway's sensors: what one simulated device sends.
func (p *Plan) Split(seed uint64) []*Stream {
	per := make([][]Sensor, len(p.Gateways))
	for _, s := range p.Sensors {
		per[s.Gateway] = append(per[s.Gateway], s)
	}
	out := make([]*Stream, len(per))
	for g, ss := range per {
		out[g] = NewStream(seed+uint64(g), ss)
	}
	return out
}

// Next returns the next n messages, the stream's sensors in turn, each at
// now or just after its previous one (a sensor's times strictly
// increase, so that no two readings of one series share a time).
func (s *Stream) Next(n int, now time.Time) []Send {
	out := make([]Send, n)
	ms := now.UnixMilli()
	for i := range out {
		k := s.next
		s.next = (s.next + 1) % len(s.Sensors)
		t := max(ms, s.last[k]+1)
		s.last[k] = t
		temp, batt := s.walks[k].next(s.rng)
		out[i] = Send{Sensor: s.Sensors[k].ID, Time: t, Temp: temp, Batt: batt, Secret: s.Sensors[k].Secret}
	}
	return out
}

// NextSeq reserves n sequence numbers of the stream's gateway and returns
// the first: a device numbers its readings 1, 2, … in the order it
// accepted them.
func (s *Stream) NextSeq(n int) uint64 {
	first := s.seq
	s.seq += uint64(n)
	return first
}
