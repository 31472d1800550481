package main

import (
	"crypto/rand"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/telemetry/batch"
)

// telemetryMessage is the message of one telemetry batch holding one
// reading of each of n sensors, as the device's gateway publishes it: the real batch
// encoding (telemetry/batch) when it is built, and extra, the bytes of the
// message that a real batch does not carry, to subtract.
//
// Until the encoding is built, the body is o.Body random bytes (as
// incompressible as a compressed batch), sent already expired so that the
// server's pipeline acks it without decoding it; the expiry header it
// needs for that is extra.
func telemetryMessage(o options, device string, seq uint64, n int, broker string) (m bus.Message, real bool, extra int) {
	b := batch.Batch{Secrets: map[int64]string{}}
	for i := range n {
		r := runlet.RawReading{Seq: seq*uint64(n) + uint64(i), Accepted: time.Now()}
		r.Sensor = 1000 + int64(i)
		// A thermometer's own clock: a second or so apart from the others.
		r.Time = time.Now().Truncate(time.Second).Add(time.Duration(i) * 1100 * time.Millisecond)
		r.Set(runlet.MetricTemp, -18.5+float64(i)/10)
		r.Set(runlet.MetricBatt, float64(75+i%5))
		b.Readings = append(b.Readings, r)
		b.Secrets[r.Sensor] = "64089519511846157"
	}
	if body, ok := encodeBatch(b); ok {
		return bus.Message{Key: bus.TelemetryKey(device), Body: body}, true, 0
	}
	body := make([]byte, o.Body*n)
	_, _ = rand.Read(body)
	exp := time.Now().Add(-time.Hour)
	m = bus.Message{Key: bus.TelemetryKey(device), Body: body, ExpiresAt: exp}
	if broker == "rabbitmq" {
		// A table entry: name (short string), type 'l', int64.
		return m, false, 1 + len("x-runlet-expires") + 1 + 8
	}
	// "Runlet-Expires: <RFC 3339>\r\n", stored and copied for subscribers.
	return m, false, 2 * len("Runlet-Expires: "+exp.UTC().Format(time.RFC3339Nano)+"\r\n")
}

// encodeBatch is batch.Encode, false while it is not built yet (panics).
func encodeBatch(b batch.Batch) (body []byte, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	body, err := batch.Encode(b)
	return body, err == nil
}
