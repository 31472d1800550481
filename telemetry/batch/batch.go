// Package batch is the wire format of telemetry: the readings a device
// relays travel as one compact binary batch per message on
// bus.TelemetryKey(device), and the server's authenticated readings as
// the same format on bus.ReadingsKey(device).
//
// The format, version 1 (every integer a varint as encoding/binary
// writes them, "zigzag" meaning binary.PutVarint's signed form):
//
//	header   "rt", version 1, flags (bit 0: the body is zstd-compressed,
//	         preceded by its decompressed length as a uvarint)
//	body     secrets: count; per sensor in ascending id: the id as a
//	         zigzag delta from the previous one, then a head: 1, and
//	         the secret is the decimal text of the uvarint that follows
//	         (the seed's secrets are integers), or its length shifted
//	         left by one, and its bytes
//	         sensors: the count shifted left by one, bit 0 set when the
//	         table is the secrets' ids (a device's batch); else the
//	         distinct sensors of the readings in ascending order, as
//	         zigzag deltas
//	         readings: count, then one column per field, each reading's
//	         value in turn:
//	           seq       zigzag delta from the previous reading's
//	           sensor    zigzag delta of its index in the sensor table
//	           flags     a byte: the metrics it has (bits 0-1), temp and
//	                     batt stored raw (bits 2-3), TimeReplaced (4),
//	                     SentTime present (5)
//	           time      unix milliseconds, zigzag delta from the same
//	                     sensor's previous time in the batch, or from
//	                     the previous reading's for a sensor's first
//	           accepted  unix milliseconds, zigzag delta from its time
//	           temp      a whole number of hundredths as a zigzag delta
//	                     from the same sensor's previous one, or the raw
//	                     float64 (8 bytes, little endian) when the value
//	                     is not an exact multiple of 0.01
//	           batt      likewise
//	           sent      SentTime, zigzag delta from its time
//
// Times are kept to the millisecond (a finer time is truncated) and
// decode in UTC. The body is compressed when that makes the message
// smaller, which it does from a few dozen readings on.
package batch

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/runlet/runlet"
)

// Batch is what one telemetry message carries.
type Batch struct {
	// Readings are in the device's order (ascending Seq). Each carries
	// Reading, Seq, Accepted, SentTime and TimeReplaced; ID, Device and
	// Stored are the server's and are not encoded. Values of a metric a
	// reading does not have (Has) are not encoded either: they decode
	// as 0.
	Readings []runlet.RawReading
	// Secrets holds each sensor's secret once, as the sensor sent it, so
	// that the server can authenticate it; nil in the server's Readings
	// batches, which never carry secrets. An empty map decodes as nil.
	Secrets map[int64]string
}

// ID names a batch for deduplication and logs: the device's first and
// last sequence numbers, "<first>-<last>", or "empty" for a batch without
// readings.
func (b Batch) ID() string {
	if len(b.Readings) == 0 {
		return "empty"
	}
	first, last := b.Readings[0].Seq, b.Readings[len(b.Readings)-1].Seq
	return strconv.FormatUint(first, 10) + "-" + strconv.FormatUint(last, 10)
}

// MaxDecoded bounds what Decode accepts: readings in a batch, and bytes
// once decompressed.
const (
	MaxReadings = 100_000
	MaxDecoded  = 16 << 20
)

// ErrFormat wraps every error of Decode: the bytes are not a batch.
var ErrFormat = errors.New("batch: not a telemetry batch")

// The header.
const (
	magic0, magic1 = 'r', 't'
	version        = 1
	headerLen      = 4

	flagZstd = 1 << 0
)

// compressFrom is the body size from which Encode tries compression: below
// it, zstd's frame (about 13 bytes) costs more than it saves.
const compressFrom = 128

// Encode returns b in the wire format. It refuses more than MaxReadings
// readings, a metric it does not know, and a secret longer than
// runlet.MaxSensorSecret.
func Encode(b Batch) ([]byte, error) {
	if len(b.Readings) > MaxReadings {
		return nil, fmt.Errorf("batch: %d readings, more than the %d a batch may carry", len(b.Readings), MaxReadings)
	}
	out := make([]byte, headerLen, headerLen+estimate(b))
	out[0], out[1], out[2] = magic0, magic1, version
	out, err := appendBody(out, b)
	if err != nil {
		return nil, err
	}
	body := out[headerLen:]
	if len(body) > MaxDecoded {
		return nil, fmt.Errorf("batch: %d bytes, more than the %d a batch may have", len(body), MaxDecoded)
	}
	if len(body) < compressFrom {
		return out, nil
	}
	return compress(out)
}

// Decode reads a batch Encode wrote. It never panics, and refuses
// (ErrFormat) what Encode cannot have written, beyond MaxReadings or
// MaxDecoded included.
func Decode(p []byte) (Batch, error) {
	if len(p) < headerLen || p[0] != magic0 || p[1] != magic1 {
		return Batch{}, fmt.Errorf("%w: no header", ErrFormat)
	}
	if p[2] != version {
		return Batch{}, fmt.Errorf("%w: version %d, this program reads %d", ErrFormat, p[2], version)
	}
	body := p[headerLen:]
	switch p[3] {
	case 0:
	case flagZstd:
		var err error
		if body, err = decompress(body); err != nil {
			return Batch{}, err
		}
	default:
		return Batch{}, fmt.Errorf("%w: unknown flags %#x", ErrFormat, p[3])
	}
	return decodeBody(body)
}
