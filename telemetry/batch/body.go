package batch

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/runlet/runlet"
)

// The flags byte of a reading.
const (
	numMetrics   = len(runlet.Reading{}.Values)
	hasMask      = 1<<numMetrics - 1 // bits 0-1: runlet.MetricSet
	rawShift     = 2                 // bits 2-3: value i stored as a raw float64
	flagReplaced = 1 << 4
	flagSent     = 1 << 5
	flagsKnown   = hasMask | hasMask<<rawShift | flagReplaced | flagSent
)

// tableOfSecrets, in the sensor table's head (its count shifted left by
// one), says the table is the secrets' ids.
const tableOfSecrets = 1

// minReading is the fewest bytes a reading takes in the body (seq,
// sensor, flags, time and accepted: a byte each at least), which bounds
// the count Decode believes before it allocates.
const minReading = 5

// estimate guesses the plain body's size, to allocate once.
func estimate(b Batch) int {
	return 16 + len(b.Secrets)*24 + len(b.Readings)*12
}

// appendBody appends the body of b to out.
func appendBody(out []byte, b Batch) ([]byte, error) {
	out, secretIDs, err := appendSecrets(out, b.Secrets)
	if err != nil {
		return nil, err
	}

	// The sensor table, and each reading's index in it. A device's
	// batch carries a secret for each of its sensors: the table is then
	// the secrets' ids, said with one bit.
	sensors := make([]int64, len(b.Readings))
	for i, r := range b.Readings {
		sensors[i] = r.Sensor
	}
	slices.Sort(sensors)
	sensors = slices.Compact(sensors)
	if len(sensors) > 0 && slices.Equal(sensors, secretIDs) {
		out = binary.AppendUvarint(out, uint64(len(sensors))<<1|tableOfSecrets)
	} else {
		out = binary.AppendUvarint(out, uint64(len(sensors))<<1)
		prev := int64(0)
		for _, id := range sensors {
			out = binary.AppendVarint(out, id-prev)
			prev = id
		}
	}
	index := make([]int32, len(b.Readings))
	for i, r := range b.Readings {
		j, _ := slices.BinarySearch(sensors, r.Sensor)
		index[i] = int32(j)
	}

	rs := b.Readings
	out = binary.AppendUvarint(out, uint64(len(rs)))
	var prevSeq uint64
	for _, r := range rs {
		out = binary.AppendVarint(out, int64(r.Seq-prevSeq))
		prevSeq = r.Seq
	}
	var prevIndex int32
	for _, j := range index {
		out = binary.AppendVarint(out, int64(j-prevIndex))
		prevIndex = j
	}
	flags := len(out)
	for i, r := range rs {
		if r.Has&^hasMask != 0 {
			return nil, fmt.Errorf("batch: reading %d (seq %d) has metrics %#x this version does not know", i, r.Seq, r.Has)
		}
		f := byte(r.Has)
		for m := range runlet.Metrics {
			if r.Has&(1<<m) != 0 {
				if _, ok := hundredths(r.Values[m]); !ok {
					f |= 1 << (rawShift + m)
				}
			}
		}
		if r.TimeReplaced {
			f |= flagReplaced
		}
		if r.SentTime != 0 {
			f |= flagSent
		}
		out = append(out, f)
	}
	// A time is a delta from the same sensor's previous one in the
	// batch (a sensor reports at a steady pace: the deltas repeat and
	// compress), or from the previous reading's for a sensor's first.
	prevTime := int64(0)
	lastTime := make([]int64, len(sensors))
	seen := make([]bool, len(sensors))
	for i, r := range rs {
		t, j := r.Time.UnixMilli(), index[i]
		base := prevTime
		if seen[j] {
			base = lastTime[j]
		}
		out = binary.AppendVarint(out, t-base)
		prevTime, lastTime[j], seen[j] = t, t, true
	}
	for _, r := range rs {
		out = binary.AppendVarint(out, r.Accepted.UnixMilli()-r.Time.UnixMilli())
	}
	last := make([]int64, len(sensors)) // each sensor's previous value, in hundredths
	for m := range runlet.Metrics {
		clear(last)
		for i, r := range rs {
			f := out[flags+i]
			switch {
			case f&(1<<m) == 0:
			case f&(1<<(rawShift+m)) != 0:
				out = binary.LittleEndian.AppendUint64(out, math.Float64bits(r.Values[m]))
			default:
				h, _ := hundredths(r.Values[m])
				out = binary.AppendVarint(out, h-last[index[i]])
				last[index[i]] = h
			}
		}
	}
	for _, r := range rs {
		if r.SentTime != 0 {
			out = binary.AppendVarint(out, r.SentTime-r.Time.UnixMilli())
		}
	}
	return out, nil
}

// maxHundredths bounds the values stored as hundredths: every whole
// number up to it is exact in a float64.
const maxHundredths = 1 << 53

// hundredths returns v×100 when that is a whole number h that gives back
// exactly v (the same bits) as float64(h)/100.
func hundredths(v float64) (int64, bool) {
	h := math.Round(v * 100)
	if math.IsNaN(h) || h > maxHundredths || h < -maxHundredths {
		return 0, false
	}
	n := int64(h)
	return n, math.Float64bits(float64(n)/100) == math.Float64bits(v)
}

// decodeBody reads a plain body.
func decodeBody(p []byte) (Batch, error) {
	d := decoder{p: p}
	var b Batch
	var secretIDs []int64
	b.Secrets, secretIDs = d.secrets()
	sensors := d.sensors(secretIDs)
	n := d.count("readings", minReading)
	if n > MaxReadings {
		d.fail(fmt.Sprintf("%d readings, more than %d", n, MaxReadings))
	}
	if n > 0 && len(sensors) == 0 {
		d.fail("readings without sensors")
	}
	if d.err != nil {
		return Batch{}, d.err
	}
	b.Readings = d.readings(n, sensors)
	if d.err == nil && len(d.p) != 0 {
		d.fail(fmt.Sprintf("%d bytes after the last reading", len(d.p)))
	}
	if d.err != nil {
		return Batch{}, d.err
	}
	return b, nil
}

// sensors reads the sensor table: the secrets' ids when its head says
// so, else its own ascending ids.
func (d *decoder) sensors(secretIDs []int64) []int64 {
	head := d.uvarint()
	n := head >> 1
	if head&tableOfSecrets != 0 {
		if n == 0 || n != uint64(len(secretIDs)) {
			d.fail("the sensor table is not the secrets' table")
		}
		return secretIDs
	}
	if n > uint64(len(d.p)) {
		d.fail(fmt.Sprintf("%d sensors cannot fit in %d bytes", n, len(d.p)))
		return nil
	}
	sensors := make([]int64, n)
	id := int64(0)
	for i := range sensors {
		id += d.varint()
		if i > 0 && id <= sensors[i-1] {
			d.fail("the sensor table is out of order")
		}
		sensors[i] = id
	}
	return sensors
}

// readings reads n readings' columns.
func (d *decoder) readings(n int, sensors []int64) []runlet.RawReading {
	rs := make([]runlet.RawReading, n)
	index := make([]int32, n)
	var seq uint64
	for i := range rs {
		seq += uint64(d.varint())
		rs[i].Seq = seq
	}
	j := int64(0)
	for i := range rs {
		j += d.varint()
		if j < 0 || j >= int64(len(sensors)) {
			d.fail("a sensor index is out of the table")
			return nil
		}
		index[i] = int32(j)
		rs[i].Sensor = sensors[j]
	}
	flags := d.bytes(uint64(n))
	if d.err != nil {
		return nil
	}
	for _, f := range flags {
		if f&^flagsKnown != 0 || (f>>rawShift)&hasMask&^f != 0 {
			d.fail(fmt.Sprintf("unknown reading flags %#x", f))
			return nil
		}
	}
	times := make([]int64, n)
	t := int64(0)
	lastTime := make([]int64, len(sensors))
	seen := make([]bool, len(sensors))
	for i := range rs {
		j := index[i]
		if seen[j] {
			t = lastTime[j]
		}
		t += d.varint()
		lastTime[j], seen[j] = t, true
		times[i] = t
		rs[i].Time = runletTime(t)
		rs[i].Has = runlet.MetricSet(flags[i] & hasMask)
		rs[i].TimeReplaced = flags[i]&flagReplaced != 0
	}
	for i := range rs {
		rs[i].Accepted = runletTime(times[i] + d.varint())
	}
	last := make([]int64, len(sensors))
	for m := range runlet.Metrics {
		clear(last)
		for i := range rs {
			switch f := flags[i]; {
			case f&(1<<m) == 0:
			case f&(1<<(rawShift+m)) != 0:
				rs[i].Values[m] = math.Float64frombits(binary.LittleEndian.Uint64(d.bytes(8)))
			default:
				h := last[index[i]] + d.varint()
				last[index[i]] = h
				rs[i].Values[m] = float64(h) / 100
			}
		}
	}
	for i := range rs {
		if flags[i]&flagSent != 0 {
			rs[i].SentTime = times[i] + d.varint()
			if rs[i].SentTime == 0 {
				d.fail("a sent time of 0 is flagged as present")
			}
		}
	}
	return rs
}
