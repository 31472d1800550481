package sensormsg

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runlet/runlet"
)

// The seed's message, with every field kept as JSON text so that numbers
// are read exactly and each field's fault can be named.
type wireMessage struct {
	Device  json.RawMessage `json:"device"`
	Reading json.RawMessage `json:"reading"`
}

type wireDevice struct {
	ID   json.RawMessage `json:"id"`
	Auth json.RawMessage `json:"auth"`
}

type wireReading struct {
	Temp json.RawMessage `json:"temp"`
	Time json.RawMessage `json:"time"`
	Batt json.RawMessage `json:"batt"`
}

// parseMessage reads one message; a refusal has a Reason, and its Index
// is the caller's to set.
func parseMessage(raw []byte) (Message, Refusal) {
	var m Message
	if len(raw) > MaxMessage {
		return m, refusal(ReasonTooLarge, "", fmt.Sprintf("The message is %d bytes, more than the %d a message may have.", len(raw), MaxMessage))
	}
	if m, r, ok := parseFast(raw); ok {
		return m, r
	}
	return parseSlow(raw)
}

// parseSlow reads one message with encoding/json: the rules as written,
// for every message the fast path leaves.
func parseSlow(raw []byte) (Message, Refusal) {
	var m Message
	var w wireMessage
	if r, ok := object(raw, &w, "", "The message"); !ok {
		return m, r
	}
	if absent(w.Device) {
		return m, refusal(ReasonMissingID, "device.id", "device is missing: a message names its sensor in device.id and device.auth.")
	}
	var d wireDevice
	if r, ok := object(w.Device, &d, "device", "device"); !ok {
		return m, r
	}
	if r, ok := m.device(d); !ok {
		return m, r
	}
	if absent(w.Reading) {
		return m, refusal(ReasonMissingReading, "reading", "reading is missing: a message carries its values in reading.temp and reading.batt.")
	}
	var rd wireReading
	if r, ok := object(w.Reading, &rd, "reading", "reading"); !ok {
		return m, r
	}
	return m, m.reading(rd)
}

// object decodes raw, which must be a JSON object, into v.
func object(raw []byte, v any, field, name string) (Refusal, bool) {
	if raw[0] != '{' {
		if !json.Valid(raw) {
			return refusal(ReasonJSON, field, name+" is not valid JSON."), false
		}
		return refusal(ReasonNotObject, field, fmt.Sprintf("%s is %s, not an object.", name, kind(raw))), false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return refusal(ReasonJSON, field, fmt.Sprintf("%s is not valid JSON: %v.", name, err)), false
	}
	return Refusal{}, true
}

func (m *Message) device(d wireDevice) (Refusal, bool) {
	if absent(d.ID) {
		return refusal(ReasonMissingID, "device.id", "device.id is missing: it is the sensor's id."), false
	}
	id, err := wholeNumber(d.ID)
	if err != nil || id <= 0 {
		return refusal(ReasonBadID, "device.id", fmt.Sprintf("device.id is %s, not a positive whole number.", show(d.ID))), false
	}
	m.Sensor = id
	if absent(d.Auth) {
		return refusal(ReasonMissingAuth, "device.auth", "device.auth is missing: it is the sensor's secret."), false
	}
	secret, why := secret(d.Auth)
	if why != "" {
		return refusal(ReasonBadAuth, "device.auth", "device.auth is "+why+"."), false
	}
	m.Secret = secret
	return Refusal{}, true
}

func (m *Message) reading(r wireReading) Refusal {
	if !absent(r.Time) {
		t, err := wholeNumber(r.Time)
		if err != nil {
			return refusal(ReasonBadTime, "reading.time", fmt.Sprintf("reading.time is %s, not a whole number of unix seconds or milliseconds.", show(r.Time)))
		}
		m.Time, m.HasTime = t, true
	}
	for _, f := range [...]struct {
		metric runlet.Metric
		raw    json.RawMessage
	}{{runlet.MetricTemp, r.Temp}, {runlet.MetricBatt, r.Batt}} {
		if absent(f.raw) {
			continue
		}
		v, ok := finite(f.raw)
		if !ok {
			return refusal(ReasonNotNumeric, "reading."+string(f.metric), fmt.Sprintf("reading.%s is %s, not a number.", f.metric, show(f.raw)))
		}
		r := runlet.Reading{Values: m.Values, Has: m.Has}
		r.Set(f.metric, v)
		m.Values, m.Has = r.Values, r.Has
	}
	if m.Has == 0 {
		return refusal(ReasonNoValues, "reading", "reading has neither temp nor batt.")
	}
	return Refusal{}
}

func refusal(r Reason, field, msg string) Refusal {
	return Refusal{Reason: r, Field: field, Message: msg}
}

// absent reports whether a field is missing or null.
func absent(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// wholeNumber reads a JSON integer, or a string holding one, exactly.
func wholeNumber(raw []byte) (int64, error) {
	text := raw
	if raw[0] == '"' {
		s, err := unquote(raw)
		if err != nil {
			return 0, err
		}
		text = []byte(s)
	}
	if !isInteger(text) {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(string(text), 10, 64)
}

// isInteger reports whether b is an optional minus and decimal digits.
func isInteger(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	return len(b) > 0 && isDigits(string(b))
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// secret reads device.auth: the exact text of a whole number, or a
// string. It says why not, never with the value.
func secret(raw []byte) (string, string) {
	var s string
	switch c := raw[0]; {
	case c == '"':
		var err error
		if s, err = unquote(raw); err != nil {
			return "", "not a valid JSON string"
		}
		if s == "" {
			return "", "an empty string; a secret has at least one character"
		}
	case c == '-' || c >= '0' && c <= '9':
		var ok bool
		if s, ok = runlet.SensorSecretNumber(string(raw)); !ok && isDigits(string(raw)) {
			s = string(raw) // too long: said below
		} else if !ok {
			return "", "a number with a sign, a fraction or an exponent; a secret is a whole number or a string"
		}
	default:
		return "", kind(raw) + ", not a number or a string"
	}
	if len(s) > runlet.MaxSensorSecret {
		return "", fmt.Sprintf("%d bytes long, more than the %d a secret may have", len(s), runlet.MaxSensorSecret)
	}
	return s, ""
}

// finite reads a JSON number, or a string holding one, as a finite
// float64.
func finite(raw []byte) (float64, bool) {
	// Any other JSON value is valid JSON already, and ParseFloat takes
	// its numbers only; a string's content must be checked.
	text := string(raw)
	if raw[0] == '"' {
		var err error
		if text, err = unquote(raw); err != nil || !isNumber(text) {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// isNumber reports whether s is a JSON number (so not "NaN", "Inf",
// "0x1p3" or "1_000", which strconv.ParseFloat would take).
func isNumber(s string) bool {
	sc := scanner{p: []byte(s), ok: true}
	sc.number()
	return sc.ok && len(sc.p) == 0
}

// kind names the type of a JSON value, for messages.
func kind(raw []byte) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// show quotes a value for a message, cut short when long.
func show(raw []byte) string {
	const most = 40
	s := string(raw)
	if len(s) > most {
		s = s[:most]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
