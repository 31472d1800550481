package sim

import (
	"strconv"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/telemetry/batch"
	"github.com/runlet/runlet/telemetry/sensormsg"
)

// Line returns m as a sensor sends it, the seed's JSON on one line:
// {"device":{"id":1000,"auth":64089519511846157},"reading":{"temp":4.2,
// "time":1765100000123,"batt":75}}, as sensormsg.Format writes it. With
// asString the secret is a JSON string instead of a number, which the
// seed's API accepts too.
func Line(m Send, asString bool) []byte {
	if !asString {
		msg := sensormsg.Message{Sensor: m.Sensor, Secret: m.Secret, Time: m.Time, HasTime: true}
		r := ReadingOf(m)
		msg.Values, msg.Has = r.Values, r.Has
		return sensormsg.Format(msg)
	}
	b := make([]byte, 0, 128)
	b = append(b, `{"device":{"id":`...)
	b = strconv.AppendInt(b, m.Sensor, 10)
	b = append(b, `,"auth":`...)
	b = strconv.AppendQuote(b, m.Secret)
	b = append(b, `},"reading":{"temp":`...)
	b = strconv.AppendFloat(b, m.Temp, 'g', -1, 64)
	b = append(b, `,"time":`...)
	b = strconv.AppendInt(b, m.Time, 10)
	b = append(b, `,"batt":`...)
	b = strconv.AppendFloat(b, m.Batt, 'g', -1, 64)
	b = append(b, "}}"...)
	return b
}

// Body returns ms as newline-delimited JSON, the body a device's
// POST /v1/readings (or `runlet telemetry push`) takes.
func (p *Plan) Body(ms []Send) []byte {
	var b []byte
	for _, m := range ms {
		s, _ := p.Sensor(m.Sensor)
		asString := s.SecretAsString
		if m.Sensor == p.Inactive.ID && p.Inactive.ID != 0 {
			asString = p.Inactive.SecretAsString
		}
		b = append(b, Line(m, asString)...)
		b = append(b, '\n')
	}
	return b
}

// Batch returns ms as a device relays them on the bus: its readings
// numbered from seq on, accepted at the time given, with each sensor's
// secret once (a batch carries one secret per sensor: the gateway starts
// a new batch when a sensor's secret changes, so give Batch messages of
// one secret per sensor).
func Batch(ms []Send, seq uint64, accepted time.Time) batch.Batch {
	b := batch.Batch{Readings: make([]runlet.RawReading, len(ms)), Secrets: map[int64]string{}}
	for i, m := range ms {
		b.Readings[i] = runlet.RawReading{Reading: ReadingOf(m), Seq: seq + uint64(i), Accepted: accepted}
		b.Secrets[m.Sensor] = m.Secret
	}
	return b
}
