package main

import (
	"crypto/rand"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/telemetry/batch"
)

// telemetryMessage is the message of one telemetry batch holding one
// reading of sensor, as the device's gateway publishes it: the real batch
// encoding (telemetry/batch) when it is built, and extra, the bytes of the
// message that a real batch does not carry, to subtract.
//
// Until the encoding is built, the body is o.Body random bytes (as
// incompressible as a compressed batch), sent already expired so that the
// server's pipeline acks it without decoding it; the expiry header it
// needs for that is extra.
func telemetryMessage(o options, device string, seq uint64, broker string) (m bus.Message, real bool, extra int) {
	r := runlet.RawReading{Seq: seq, Accepted: time.Now()}
	r.Sensor = 64089519511846157 % (1 << 40)
	r.Time = time.Now().Truncate(time.Second)
	r.Set(runlet.MetricTemp, -18.5)
	r.Set(runlet.MetricBatt, 75)
	if body, ok := encodeBatch(batch.Batch{
		Readings: []runlet.RawReading{r},
		Secrets:  map[int64]string{r.Sensor: "64089519511846157"},
	}); ok {
		return bus.Message{Key: bus.TelemetryKey(device), Body: body}, true, 0
	}
	body := make([]byte, o.Body)
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
