// Package sensormsg reads the messages sensors send to a device, the
// seed's JSON: {"device":{"id":123,"auth":789},"reading":{"temp":15,
// "time":123,"batt":75}}. "device" is the sensor (the seed's word), id its
// id and auth its secret, both integers that may exceed 2^53 (parsed
// exactly) or strings.
//
// The rules, field by field (a message breaking one is refused with the
// Reason in brackets, and the others go on):
//
//   - device.id: a positive whole number that fits in 64 bits, as a JSON
//     number or a decimal string ([ReasonMissingID], [ReasonBadID]).
//   - device.auth: a whole number (no sign, fraction or exponent), whose
//     exact decimal text becomes the secret, or a non-empty string of at
//     most runlet.MaxSensorSecret bytes ([ReasonMissingAuth],
//     [ReasonBadAuth]). A refusal never echoes the secret.
//   - reading.time: optional; a whole number in the units of
//     runlet.SensorTime (unix seconds, or milliseconds from 10^12), as a
//     number or a decimal string. A fraction or an exponent (1.7e9,
//     1733580000.5) is refused ([ReasonBadTime]) rather than rounded: the
//     unit of a fractional time is a guess we do not make.
//   - reading.temp and reading.batt: any finite number, as a number or a
//     string holding a JSON number ("4.37"); not NaN, not infinite, not a
//     number out of float64's range ([ReasonNotNumeric]). The battery is
//     not bounded to 0..100: the value is stored as the sensor said it.
//     A reading with neither is refused ([ReasonNoValues]).
//   - null is the same as an absent field; unknown fields are ignored
//     (sensors vary); keys match case-insensitively, as encoding/json's.
//
// Parse takes the input as one message, a JSON array of messages, or
// newline-delimited JSON: input that begins with '[' is an array (if it is
// not valid JSON as a whole, it is refused as one [ReasonJSON] at index
// 0, since nothing says where its elements end); other input that is one
// valid JSON value is one message; anything else is read line by line,
// blank lines skipped. A message over MaxMessage bytes is refused unread
// ([ReasonTooLarge]); the whole input is the caller's to bound.
//
// The seed's shape is read in one pass without encoding/json (fast.go);
// anything unusual falls back to encoding/json, and a fuzz target checks
// that the two always agree.
package sensormsg

import (
	"bytes"
	"encoding/json"

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

// MaxMessage bounds one message (the whole input, an element of an array
// or a line) in bytes: the seed's message is about 80 bytes, and a message
// larger than this is refused with ReasonTooLarge unread.
const MaxMessage = 64 << 10

// Refusal is one message refused: its place in the input (0-based: the
// element of an array, the line of newline-delimited JSON, counting blank
// lines, so that it is the line an editor shows, minus one), the reason,
// and a sentence naming the field.
type Refusal struct {
	Index   int    `json:"index"`
	Reason  Reason `json:"reason"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Parse reads one message, a JSON array of them, or newline-delimited
// JSON, and returns the messages it took and the ones it refused; a bad
// message never stops the others. Empty input (nothing but white space)
// is one ReasonJSON refusal, so that a caller sending nothing learns it.
func Parse(data []byte) ([]Message, []Refusal) {
	var p parser
	trimmed := trimSpace(data)
	switch {
	case len(trimmed) == 0:
		p.refuse(0, ReasonJSON, "", "The input is empty: send one message, a JSON array of them, or one message per line.")
	case trimmed[0] == '[':
		p.array(trimmed)
	case len(trimmed) <= MaxMessage && json.Valid(trimmed):
		p.one(0, trimmed)
	default:
		p.lines(data)
	}
	return p.msgs, p.refusals
}

// parser collects what Parse took and refused.
type parser struct {
	msgs     []Message
	refusals []Refusal
}

func (p *parser) refuse(i int, r Reason, field, msg string) {
	p.refusals = append(p.refusals, Refusal{Index: i, Reason: r, Field: field, Message: msg})
}

func (p *parser) array(data []byte) {
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		p.refuse(0, ReasonJSON, "", "The input begins with '[' but is not a valid JSON array: "+err.Error()+".")
		return
	}
	p.msgs = make([]Message, 0, len(elems))
	for i, e := range elems {
		p.one(i, e)
	}
}

func (p *parser) lines(data []byte) {
	p.msgs = make([]Message, 0, bytes.Count(data, []byte{'\n'})+1)
	for i := 0; len(data) > 0; i++ {
		line := data
		if n := bytes.IndexByte(data, '\n'); n >= 0 {
			line, data = data[:n], data[n+1:]
		} else {
			data = nil
		}
		if line = trimSpace(line); len(line) > 0 {
			p.one(i, line)
		}
	}
}

// one parses a single message at index i of the input.
func (p *parser) one(i int, raw []byte) {
	m, r := parseMessage(raw)
	if r.Reason != "" {
		r.Index = i
		p.refusals = append(p.refusals, r)
		return
	}
	p.msgs = append(p.msgs, m)
}

// trimSpace trims JSON's white space (not Unicode's).
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
