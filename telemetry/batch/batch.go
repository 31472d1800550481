// Package batch is the wire format of telemetry: the readings a device
// relays travel as one compact binary batch per message on
// bus.TelemetryKey(device), and the server's authenticated readings as
// the same format on bus.ReadingsKey(device).
package batch

import (
	"errors"
	"time"

	"github.com/runlet/runlet"
)

// Batch is what one telemetry message carries.
type Batch struct {
	// Readings are in the device's order (ascending Seq). Each carries
	// Reading, Seq, Accepted, SentTime and TimeReplaced; ID, Device and
	// Stored are the server's and are not encoded.
	Readings []runlet.RawReading
	// Secrets holds each sensor's secret once, as the sensor sent it, so
	// that the server can authenticate it; nil in the server's Readings
	// batches, which never carry secrets.
	Secrets map[int64]string
}

// ID names a batch for deduplication and logs: the device's first and
// last sequence numbers, "<first>-<last>".
func (b Batch) ID() string { panic("unimplemented") }

// MaxDecoded bounds what Decode accepts: readings in a batch, and bytes
// once decompressed.
const (
	MaxReadings = 100_000
	MaxDecoded  = 16 << 20
)

// ErrFormat wraps every error of Decode: the bytes are not a batch.
var ErrFormat = errors.New("batch: not a telemetry batch")

// Encode returns b in the wire format.
func Encode(b Batch) ([]byte, error) { panic("unimplemented") }

// Decode reads a batch Encode wrote. It never panics, and refuses
// (ErrFormat) what Encode cannot have written, beyond MaxReadings or
// MaxDecoded included.
func Decode(p []byte) (Batch, error) { panic("unimplemented") }

var _ = time.Time{}
