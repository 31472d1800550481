package batch_test

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/telemetry/batch"
)

// realistic returns n readings of sensors reporting every interval from
// start: a temperature in hundredths walking slowly, a battery in whole
// percent draining, each sensor with its own small clock offset, accepted
// a few milliseconds later, in the order the device accepted them.
func realistic(r *rand.Rand, sensors int, interval time.Duration, n int) batch.Batch {
	b := batch.Batch{Secrets: map[int64]string{}}
	start := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC).UnixMilli()
	type state struct {
		temp, batt int64
		offset     int64
	}
	st := make([]state, sensors)
	for i := range st {
		st[i] = state{temp: 400 + r.Int64N(100), batt: 50 + r.Int64N(51), offset: r.Int64N(interval.Milliseconds())}
	}
	seq := uint64(1_000_000)
	for round := int64(0); len(b.Readings) < n; round++ {
		// The device accepts a round's readings in the order they come.
		order := make([]int, sensors)
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return cmp.Compare(st[a].offset, st[b].offset) })
		for _, i := range order {
			if len(b.Readings) == n {
				break
			}
			s := &st[i]
			s.temp += r.Int64N(11) - 5
			if r.IntN(20) == 0 && s.batt > 0 {
				s.batt--
			}
			id := int64(1000 + i)
			if _, ok := b.Secrets[id]; !ok {
				b.Secrets[id] = fmt.Sprint(64089519511846157 + id*7919)
			}
			t := start + round*interval.Milliseconds() + s.offset + r.Int64N(5) // clock jitter
			rr := runlet.RawReading{Seq: seq}
			rr.Sensor = id
			rr.Time = time.UnixMilli(t).UTC()
			rr.Accepted = time.UnixMilli(t + r.Int64N(40)).UTC()
			rr.Set(runlet.MetricTemp, float64(s.temp)/100)
			rr.Set(runlet.MetricBatt, float64(s.batt))
			b.Readings = append(b.Readings, rr)
			seq++
		}
	}
	return b
}

// random returns a batch of everything the format must keep: any ids,
// values that are and are not hundredths, missing metrics, replaced
// times, sequence gaps.
func random(r *rand.Rand, n int) batch.Batch {
	var b batch.Batch
	if r.IntN(3) > 0 {
		b.Secrets = map[int64]string{}
		for range r.IntN(20) + 1 {
			s := make([]byte, r.IntN(runlet.MaxSensorSecret+1))
			for i := range s {
				s[i] = byte(r.IntN(256))
			}
			b.Secrets[int64(r.Uint64())] = string(s)
		}
	}
	ids := make([]int64, r.IntN(50)+1)
	for i := range ids {
		ids[i] = int64(r.Uint64() >> r.IntN(64))
	}
	seq := r.Uint64()
	t := r.Int64N(1<<45) - 1<<44
	value := func() float64 {
		switch r.IntN(4) {
		case 0:
			return float64(r.Int64N(20000)-10000) / 100
		case 1:
			return r.NormFloat64() * 1e6
		case 2:
			return math.Float64frombits(r.Uint64()) // maybe NaN: compared by bits
		}
		return float64(r.IntN(101))
	}
	for range n {
		var rr runlet.RawReading
		rr.Seq = seq
		seq += uint64(r.IntN(3))
		rr.Sensor = ids[r.IntN(len(ids))]
		t += r.Int64N(2000) - 500
		rr.Time = time.UnixMilli(t).UTC()
		rr.Accepted = time.UnixMilli(t + r.Int64N(1e6) - 1e3).UTC()
		rr.Has = runlet.MetricSet(r.IntN(4))
		for m := range rr.Values {
			if rr.Has&(1<<m) != 0 {
				rr.Values[m] = value()
			}
		}
		if r.IntN(5) == 0 {
			rr.TimeReplaced = true
			rr.SentTime = r.Int64N(1e6)
		}
		b.Readings = append(b.Readings, rr)
	}
	if n > 0 && r.IntN(3) == 0 { // a device's batch: a secret per sensor
		b.Secrets = map[int64]string{}
		for _, rr := range b.Readings {
			b.Secrets[rr.Sensor] = fmt.Sprint(r.Uint64())
		}
	}
	return b
}

// same compares batches, values by their bits (NaN included).
func same(t *testing.T, got, want batch.Batch) {
	t.Helper()
	if len(want.Secrets) == 0 {
		want.Secrets = nil
	}
	if !reflect.DeepEqual(got.Secrets, want.Secrets) {
		t.Fatalf("secrets: got %d, want %d: %v", len(got.Secrets), len(want.Secrets), got.Secrets)
	}
	if len(got.Readings) != len(want.Readings) {
		t.Fatalf("got %d readings, want %d", len(got.Readings), len(want.Readings))
	}
	for i := range want.Readings {
		g, w := got.Readings[i], want.Readings[i]
		gv, wv := g.Values, w.Values
		g.Values, w.Values = [2]float64{}, [2]float64{}
		if !reflect.DeepEqual(g, w) || math.Float64bits(gv[0]) != math.Float64bits(wv[0]) || math.Float64bits(gv[1]) != math.Float64bits(wv[1]) {
			t.Fatalf("reading %d:\n got %+v %v\nwant %+v %v", i, g, gv, w, wv)
		}
	}
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 1))
	for i := range 300 {
		n := []int{0, 1, 2, 15, 64, 100, 1000}[i%7]
		b := random(r, n)
		p, err := batch.Encode(b)
		if err != nil {
			t.Fatalf("batch %d: Encode: %v", i, err)
		}
		got, err := batch.Decode(p)
		if err != nil {
			t.Fatalf("batch %d: Decode: %v", i, err)
		}
		same(t, got, b)
		if got.ID() != b.ID() {
			t.Fatalf("ID %s, want %s", got.ID(), b.ID())
		}
	}
}

func TestRoundTripRealistic(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 2))
	for _, n := range []int{1, 15, 100, 1000, 20000} {
		b := realistic(r, 1000, time.Second, n)
		p, err := batch.Encode(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := batch.Decode(p)
		if err != nil {
			t.Fatal(err)
		}
		same(t, got, b)
		if compressed := p[3]&1 != 0; n == 1 && compressed || n >= 100 && !compressed {
			t.Errorf("%d readings: compressed %v", n, compressed)
		}
	}
}

func TestTimeKeptToTheMillisecond(t *testing.T) {
	var rr runlet.RawReading
	rr.Sensor, rr.Seq = 1, 1
	rr.Time = time.Date(2026, 12, 7, 12, 0, 0, 123_456_789, time.FixedZone("CET", 3600))
	rr.Accepted = rr.Time.Add(1500 * time.Microsecond)
	rr.Set(runlet.MetricTemp, 4.37)
	p, err := batch.Encode(batch.Batch{Readings: []runlet.RawReading{rr}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := batch.Decode(p)
	if err != nil {
		t.Fatal(err)
	}
	g := got.Readings[0]
	if want := rr.Time.Truncate(time.Millisecond); !g.Time.Equal(want) || g.Time.Location() != time.UTC {
		t.Errorf("time %v, want %v in UTC", g.Time, want)
	}
	if want := time.UnixMilli(rr.Accepted.UnixMilli()); !g.Accepted.Equal(want) {
		t.Errorf("accepted %v, want %v", g.Accepted, want)
	}
}

func TestZeroTimesStayZero(t *testing.T) {
	var rr runlet.RawReading
	rr.Sensor, rr.Seq = 1, 1
	rr.Set(runlet.MetricBatt, 50)
	p, err := batch.Encode(batch.Batch{Readings: []runlet.RawReading{rr}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := batch.Decode(p)
	if err != nil {
		t.Fatal(err)
	}
	if g := got.Readings[0]; !g.Time.IsZero() || !g.Accepted.IsZero() {
		t.Errorf("time %v, accepted %v: want both zero", g.Time, g.Accepted)
	}
}

func TestID(t *testing.T) {
	if got := (batch.Batch{}).ID(); got != "empty" {
		t.Errorf("ID of no readings = %q", got)
	}
	b := batch.Batch{Readings: []runlet.RawReading{{Seq: 7}, {Seq: 8}, {Seq: 12}}}
	if got := b.ID(); got != "7-12" {
		t.Errorf("ID = %q, want 7-12", got)
	}
}

func TestEncodeRefuses(t *testing.T) {
	long := batch.Batch{Secrets: map[int64]string{1: strings.Repeat("x", runlet.MaxSensorSecret+1)}}
	unknown := batch.Batch{Readings: []runlet.RawReading{{Reading: runlet.Reading{Has: 4}}}}
	many := batch.Batch{Readings: make([]runlet.RawReading, batch.MaxReadings+1)}
	for name, b := range map[string]batch.Batch{"a long secret": long, "an unknown metric": unknown, "too many readings": many} {
		if _, err := batch.Encode(b); err == nil {
			t.Errorf("%s: Encode took it", name)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 3))
	plain, _ := batch.Encode(realistic(r, 15, 15*time.Minute, 1))
	packed, _ := batch.Encode(realistic(r, 15, 15*time.Minute, 500))
	if plain[3] != 0 || packed[3] != 1 {
		t.Fatalf("flags %d and %d: want a plain and a compressed batch", plain[3], packed[3])
	}
	bomb := []byte{'r', 't', 1, 1}
	bomb = append(bomb, 0xff, 0xff, 0xff, 0xff, 0x7f) // declares far more than MaxDecoded
	bomb = append(bomb, packed[6:]...)
	cases := map[string][]byte{
		"nothing":                  nil,
		"another magic":            []byte("xx\x01\x00\x00\x00\x00"),
		"another version":          []byte("rt\x02\x00\x00\x00\x00"),
		"unknown flags":            []byte("rt\x01\x04\x00\x00\x00"),
		"a trailing byte":          append(bytes.Clone(plain), 0),
		"compressed, too large":    bomb,
		"readings beyond the body": {'r', 't', 1, 0, 0, 0, 0xa0, 0x8d, 0x06},
		"a flag byte unknown":      {'r', 't', 1, 0, 0, 2, 2, 1, 2, 0, 0x40, 2, 0},
		"raw without the metric":   {'r', 't', 1, 0, 0, 2, 2, 1, 2, 0, 0x04, 2, 0},
		"a table of no secrets":    {'r', 't', 1, 0, 0, 3, 1, 2, 0, 0x01, 2, 0, 0},
		"sensors out of order":     {'r', 't', 1, 0, 0, 4, 4, 1, 1, 2, 0, 0x01, 2, 0, 0},
	}
	for i := range plain {
		cases[fmt.Sprintf("plain cut at %d", i)] = plain[:i]
	}
	for i := 0; i < len(packed); i += 7 {
		cases[fmt.Sprintf("compressed cut at %d", i)] = packed[:i]
	}
	for name, p := range cases {
		if b, err := batch.Decode(p); !errors.Is(err, batch.ErrFormat) {
			t.Errorf("%s: Decode = %d readings, %v; want ErrFormat", name, len(b.Readings), err)
		}
	}
	// The smallest valid batch of one reading, as the cases above alter it.
	if _, err := batch.Decode([]byte{'r', 't', 1, 0, 0, 2, 2, 1, 2, 0, 0x01, 2, 0, 0}); err != nil {
		t.Errorf("the smallest batch: %v", err)
	}
}

func TestDecodeConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 4))
	var ps [][]byte
	var bs []batch.Batch
	for range 8 {
		b := realistic(r, 100, time.Second, 300)
		p, err := batch.Encode(b)
		if err != nil {
			t.Fatal(err)
		}
		ps, bs = append(ps, p), append(bs, b)
	}
	done := make(chan error)
	for i := range ps {
		go func() {
			for range 20 {
				p, err := batch.Encode(bs[i])
				if err == nil && !bytes.Equal(p, ps[i]) {
					err = fmt.Errorf("batch %d encoded differently", i)
				}
				if err == nil {
					_, err = batch.Decode(p)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range ps {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(13, 5))
	for _, n := range []int{0, 1, 3, 15, 70} {
		p, err := batch.Encode(random(r, n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	for _, n := range []int{1, 2, 4} { // plain bodies, for the fuzzer to change
		b := random(r, n)
		b.Secrets = map[int64]string{int64(n): "64089519511846157", -int64(n): "B12F"}
		p, err := batch.Encode(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	p, _ := batch.Encode(realistic(r, 15, 15*time.Minute, 100))
	f.Add(p)
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := batch.Decode(p)
		if err != nil {
			if !errors.Is(err, batch.ErrFormat) {
				t.Fatalf("Decode: %v, not ErrFormat", err)
			}
			return
		}
		again, err := batch.Encode(b)
		if err != nil {
			t.Fatalf("Encode of what Decode read: %v", err)
		}
		back, err := batch.Decode(again)
		if err != nil {
			t.Fatalf("Decode of Encode: %v", err)
		}
		same(t, back, b)
	})
}
