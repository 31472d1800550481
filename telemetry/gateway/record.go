package gateway

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/telemetry/sensormsg"
)

// A spool record is one accepted reading in a small binary form of our
// own rather than a one-reading batch: batch.Encode compresses, which
// costs more than it saves on a few dozen bytes, and the spool is
// written once per reading at the full accept rate. The form:
//
//	version byte (recordV1)
//	flags byte: bits 0-1 the MetricSet, bit 3 replaced, bit 4 timeIsAccepted
//	varint sensor id
//	varint accepted time, unix nanoseconds
//	varint reading time, unix nanoseconds (only without timeIsAccepted)
//	varint sent time, unix milliseconds (only with replaced)
//	8 bytes little-endian float64 per metric of the set
//	uvarint secret length, secret bytes
const recordV1 = 1

const (
	flagHas            = 0b11
	flagReplaced       = 1 << 3
	flagTimeIsAccepted = 1 << 4
)

// errRecord says a spool record is not one this package wrote.
var errRecord = errors.New("gateway: a spool record is not a reading")

// reading is one accepted reading as the spool keeps it.
type reading struct {
	runlet.RawReading
	Secret string
}

// stamp turns a sensor message accepted at now into the reading the
// spool keeps: its time decided by runlet.ReadingTime.
func stamp(m sensormsg.Message, now time.Time) reading {
	t, replaced := runlet.ReadingTime(m.Time, m.HasTime, now)
	r := reading{Secret: m.Secret}
	r.Sensor = m.Sensor
	r.Time = t
	r.Values = m.Values
	r.Has = m.Has
	r.Accepted = now.UTC()
	r.TimeReplaced = replaced
	if replaced {
		r.SentTime = runlet.SensorTime(m.Time).UnixMilli()
	}
	return r
}

// appendRecord appends r's record to p.
func appendRecord(p []byte, r reading) []byte {
	flags := byte(r.Has) & flagHas
	if r.TimeReplaced {
		flags |= flagReplaced
	}
	sameTime := r.Time.Equal(r.Accepted)
	if sameTime {
		flags |= flagTimeIsAccepted
	}
	p = append(p, recordV1, flags)
	p = binary.AppendVarint(p, r.Sensor)
	p = binary.AppendVarint(p, r.Accepted.UnixNano())
	if !sameTime {
		p = binary.AppendVarint(p, r.Time.UnixNano())
	}
	if r.TimeReplaced {
		p = binary.AppendVarint(p, r.SentTime)
	}
	for i := range r.Values {
		if r.Has&(1<<i) != 0 {
			p = binary.LittleEndian.AppendUint64(p, math.Float64bits(r.Values[i]))
		}
	}
	p = binary.AppendUvarint(p, uint64(len(r.Secret)))
	return append(p, r.Secret...)
}

// decodeRecord reads a record appendRecord wrote.
func decodeRecord(p []byte) (reading, error) {
	var r reading
	if len(p) < 2 || p[0] != recordV1 {
		return r, errRecord
	}
	flags := p[1]
	p = p[2:]
	next := func() (int64, bool) {
		v, n := binary.Varint(p)
		if n <= 0 {
			return 0, false
		}
		p = p[n:]
		return v, true
	}
	var ok bool
	var accepted, t int64
	if r.Sensor, ok = next(); !ok {
		return r, fmt.Errorf("%w: no sensor", errRecord)
	}
	if accepted, ok = next(); !ok {
		return r, fmt.Errorf("%w: no accepted time", errRecord)
	}
	r.Accepted = time.Unix(0, accepted).UTC()
	r.Time = r.Accepted
	if flags&flagTimeIsAccepted == 0 {
		if t, ok = next(); !ok {
			return r, fmt.Errorf("%w: no time", errRecord)
		}
		r.Time = time.Unix(0, t).UTC()
	}
	if flags&flagReplaced != 0 {
		r.TimeReplaced = true
		if r.SentTime, ok = next(); !ok {
			return r, fmt.Errorf("%w: no sent time", errRecord)
		}
	}
	r.Has = runlet.MetricSet(flags & flagHas)
	for i := range r.Values {
		if r.Has&(1<<i) == 0 {
			continue
		}
		if len(p) < 8 {
			return r, fmt.Errorf("%w: a value is cut short", errRecord)
		}
		r.Values[i] = math.Float64frombits(binary.LittleEndian.Uint64(p))
		p = p[8:]
	}
	n, k := binary.Uvarint(p)
	if k <= 0 || uint64(len(p)-k) != n {
		return r, fmt.Errorf("%w: the secret is cut short", errRecord)
	}
	r.Secret = string(p[k:])
	return r, nil
}
