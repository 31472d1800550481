package castlog

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// A segment's text: the asciicast v2 header line (first segment only) and
// one output event per frame, "[1.234567, "o", "text", 17]".

// headerLine is the asciicast v2 header as JSON.
type headerLine struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp"`
	Title     string            `json:"title,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Runlet    *runletHeader     `json:"runlet,omitempty"`
}

// runletHeader is the header's "runlet" key: what the recording is of.
type runletHeader struct {
	Format    int    `json:"format"`
	Execution string `json:"execution,omitempty"`
	Device    string `json:"device,omitempty"`
	Job       string `json:"job,omitempty"`
}

// appendHeaderLine appends h's header line, "\n" included. h.Timestamp is
// whole seconds (normalize made it so).
func appendHeaderLine(b []byte, h Header) []byte {
	line := headerLine{
		Version:   asciicastV2,
		Width:     h.Width,
		Height:    h.Height,
		Timestamp: h.Timestamp.Unix(),
		Title:     h.Title,
		Env:       map[string]string{"TERM": "xterm-256color"},
		Runlet:    &runletHeader{Format: formatVersion, Execution: h.Execution, Device: h.Device, Job: h.Job},
	}
	j, err := json.Marshal(line)
	if err != nil { // strings and ints only: cannot fail
		panic(err)
	}
	b = append(b, j...)
	return append(b, '\n')
}

// normalize fills h's defaults: 80×24, now for a zero timestamp, and the
// timestamp in whole seconds (the header line holds seconds, and event
// times count from what it holds).
func normalize(h Header) Header {
	if h.Width <= 0 {
		h.Width = defaultWidth
	}
	if h.Height <= 0 {
		h.Height = defaultHeight
	}
	if h.Timestamp.IsZero() {
		h.Timestamp = time.Now()
	}
	h.Timestamp = time.Unix(h.Timestamp.Unix(), 0)
	return h
}

// appendEvent appends the event line of frame seq at d after the header's
// timestamp, "\n" included. data must hold whole UTF-8 characters; bytes
// that are not UTF-8 become U+FFFD.
func appendEvent(b []byte, seq uint64, d time.Duration, data []byte) []byte {
	us := max(int64(d/time.Microsecond), 0) // a frame before the run's start is at its start
	b = append(b, '[')
	b = strconv.AppendInt(b, us/1e6, 10)
	b = append(b, '.')
	frac := us % 1e6
	for div := int64(1e5); div > 0; div /= 10 {
		b = append(b, byte('0'+frac/div%10))
	}
	b = append(b, `, "o", `...)
	b = appendString(b, data)
	b = append(b, ", "...)
	b = strconv.AppendUint(b, seq, 10)
	return append(b, "]\n"...)
}

const hexDigits = "0123456789abcdef"

// maxEventSeconds bounds an event's time so that it fits a Duration.
const maxEventSeconds = 9e9

// plain is the bytes a JSON string holds as they are: printable ASCII
// but for the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainRun is how many bytes at the start of s are plain: eight at a time
// while no byte of a word is below 0x20, at or above 0x80, a quote or a
// backslash (the usual bit tricks), then one at a time. Terminal output
// is mostly plain, and this is most of the cost of encoding it.
func plainRun(s []byte) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	hasZero := func(v uint64) uint64 { return (v - lo) & ^v & hi }
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		if (x&hi)|((x-lo*0x20) & ^x & hi)|hasZero(x^(lo*'"'))|hasZero(x^(lo*'\\')) != 0 {
			break
		}
	}
	for i < len(s) && plain[s[i]] {
		i++
	}
	return i
}

// appendString appends s as a JSON string, invalid UTF-8 as U+FFFD.
func appendString(b []byte, s []byte) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		i += plainRun(s[i:])
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// splitIncomplete splits data before a UTF-8 character cut short at its
// end: the character goes with the next frame (doc.go).
func splitIncomplete(data []byte) (whole, rest []byte) {
	for i := len(data) - 1; i >= 0 && i >= len(data)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(data[i]) {
			if !utf8.FullRune(data[i:]) {
				return data[:i], data[i:]
			}
			break
		}
	}
	return data, nil
}

// parseText parses a segment's text: the header line when first, then
// the events. It checks the form of each line, not the sequence numbers.
func parseText(text []byte, first bool) (*Header, []byte, []Event, error) {
	var (
		h      *Header
		raw    []byte
		events []Event
	)
	n := 0
	for len(text) > 0 {
		n++
		i := bytes.IndexByte(text, '\n')
		if i < 0 {
			return nil, nil, nil, fmt.Errorf("line %d does not end in a newline", n)
		}
		line := text[:i]
		text = text[i+1:]
		if first && n == 1 {
			hh, err := parseHeaderLine(line)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("line 1: %w", err)
			}
			h, raw = hh, line
			continue
		}
		e, err := parseEvent(line)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("line %d: %w", n, err)
		}
		events = append(events, e)
	}
	if first && h == nil {
		return nil, nil, nil, fmt.Errorf("the first segment has no asciicast header line")
	}
	return h, raw, events, nil
}

func parseHeaderLine(line []byte) (*Header, error) {
	var l headerLine
	if err := json.Unmarshal(line, &l); err != nil {
		return nil, fmt.Errorf("not an asciicast header: %w", err)
	}
	if l.Version != asciicastV2 {
		return nil, fmt.Errorf("asciicast version %d, not 2", l.Version)
	}
	h := &Header{Width: l.Width, Height: l.Height, Timestamp: time.Unix(l.Timestamp, 0), Title: l.Title}
	if l.Runlet != nil {
		h.Execution, h.Device, h.Job = l.Runlet.Execution, l.Runlet.Device, l.Runlet.Job
	}
	return h, nil
}

// parseEvent parses `[time, "o", data, seq]`.
func parseEvent(line []byte) (Event, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(line, &parts); err != nil {
		return Event{}, fmt.Errorf("not an event: %w", err)
	}
	if len(parts) != 4 {
		return Event{}, fmt.Errorf("an event has 4 elements, not %d", len(parts))
	}
	var (
		secs float64
		kind string
		e    Event
	)
	if err := json.Unmarshal(parts[0], &secs); err != nil || secs < 0 || secs > maxEventSeconds || math.IsNaN(secs) {
		return Event{}, fmt.Errorf("an event's time is not a number of seconds: %s", parts[0])
	}
	if err := json.Unmarshal(parts[1], &kind); err != nil || kind != "o" {
		return Event{}, fmt.Errorf("an event's type is not \"o\": %s", parts[1])
	}
	if err := json.Unmarshal(parts[2], &e.Data); err != nil {
		return Event{}, fmt.Errorf("an event's data is not a string: %w", err)
	}
	if err := json.Unmarshal(parts[3], &e.Seq); err != nil || e.Seq == 0 {
		return Event{}, fmt.Errorf("an event's sequence number is not a positive integer: %s", parts[3])
	}
	e.Time = time.Duration(math.Round(secs*1e6)) * time.Microsecond
	return e, nil
}
