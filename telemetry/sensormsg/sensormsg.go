// Package sensormsg reads the messages sensors send to a device, the
// seed's JSON: {"device":{"id":123,"auth":789},"reading":{"temp":15,
// "time":123,"batt":75}}. "device" is the sensor (the seed's word), id its
// id and auth its secret, both integers that may exceed 2^53 (parsed
// exactly) or strings.
package sensormsg

import (
	"github.com/runlet/runlet"
)

// Message is one sensor message, parsed.
type Message struct {
	Sensor int64
	Secret string
	// Time is the sensor's time as sent (runlet.SensorTime's units);
	// HasTime is false when the message has none.
	Time    int64
	HasTime bool
	// Values and Has as in runlet.Reading.
	Values [2]float64
	Has    runlet.MetricSet
}

// Reason is why a message was refused, one word, for counters.
type Reason string

// Refusal is one message refused: its place in the input (0-based: the
// element of an array, the line of newline-delimited JSON), the reason,
// and a sentence naming the field.
type Refusal struct {
	Index   int    `json:"index"`
	Reason  Reason `json:"reason"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Parse reads one message, a JSON array of them, or newline-delimited
// JSON, and returns the messages it took and the ones it refused; a bad
// message never stops the others.
func Parse(data []byte) ([]Message, []Refusal) { panic("unimplemented") }
