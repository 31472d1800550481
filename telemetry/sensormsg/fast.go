package sensormsg

import (
	"encoding/json"
	"unicode/utf8"
)

// The fast path reads the common message, the seed's shape with plain
// keys and scalar values, in one pass without allocating, and hands the
// fields to the same rules as parseMessage. Whatever it does not fully
// understand (escapes, nested unknown values, keys that differ from ours
// only in case, duplicates, bad JSON) it leaves to the slow path, which
// decides; FuzzFastPath checks that both always agree.

// scanner walks one message; ok turns false at the first thing the fast
// path leaves to the slow one.
type scanner struct {
	p  []byte
	ok bool
}

// parseFast returns the message and true when the fast path read it (the
// message may still be refused by the rules), false to use the slow path.
func parseFast(raw []byte) (Message, Refusal, bool) {
	s := scanner{p: raw, ok: true}
	var (
		top       [2][]byte // device, reading
		dev       wireDevice
		rd        wireReading
		topFields = []string{"device", "reading"}
	)
	s.object(topFields, func(i int) {
		if s.space(); len(s.p) == 0 || s.p[0] != '{' {
			s.ok = false // not an object: the slow path names it
			return
		}
		start := s.p
		if i == 0 {
			s.object([]string{"id", "auth"}, func(j int) {
				v := s.scalar()
				if j == 0 {
					dev.ID = v
				} else {
					dev.Auth = v
				}
			})
		} else {
			s.object([]string{"temp", "time", "batt"}, func(j int) {
				v := s.scalar()
				switch j {
				case 0:
					rd.Temp = v
				case 1:
					rd.Time = v
				default:
					rd.Batt = v
				}
			})
		}
		top[i] = start[:len(start)-len(s.p)]
	})
	if s.space(); !s.ok || len(s.p) != 0 {
		return Message{}, Refusal{}, false
	}
	var m Message
	if top[0] == nil {
		return m, refusal(ReasonMissingID, "device.id", "device is missing: a message names its sensor in device.id and device.auth."), true
	}
	if r, ok := m.device(dev); !ok {
		return m, r, true
	}
	if top[1] == nil {
		return m, refusal(ReasonMissingReading, "reading", "reading is missing: a message carries its values in reading.temp and reading.batt."), true
	}
	return m, m.reading(rd), true
}

func (s *scanner) space() {
	for len(s.p) > 0 && isSpace(s.p[0]) {
		s.p = s.p[1:]
	}
}

func (s *scanner) byte(c byte) {
	if s.space(); len(s.p) == 0 || s.p[0] != c {
		s.ok = false
		return
	}
	s.p = s.p[1:]
}

// object reads an object whose keys of interest are names: value(i) reads
// the value of names[i]; other keys' values must be scalars, skipped.
func (s *scanner) object(names []string, value func(i int)) {
	s.byte('{')
	if s.space(); s.ok && len(s.p) > 0 && s.p[0] == '}' {
		s.p = s.p[1:]
		return
	}
	seen := 0
	for s.ok {
		key := s.str()
		s.byte(':')
		if !s.ok {
			return
		}
		i := known(key, names)
		switch {
		case i == -2 || i >= 0 && seen&(1<<i) != 0:
			s.ok = false // another case, or a duplicate: encoding/json's rules decide
			return
		case i >= 0:
			seen |= 1 << i
			value(i)
		default:
			s.scalar()
		}
		if s.space(); s.ok && len(s.p) > 0 && s.p[0] == '}' {
			s.p = s.p[1:]
			return
		}
		s.byte(',')
	}
}

// known returns the index of key in names, -1 for a key of no interest,
// -2 for one encoding/json might match to a name (not plain ASCII, or
// equal but for case).
func known(key []byte, names []string) int {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return -2
		}
	}
	for i, n := range names {
		if string(key) == n {
			return i
		}
	}
	for _, n := range names {
		if len(key) == len(n) && equalFoldASCII(key, n) {
			return -2
		}
	}
	return -1
}

// equalFoldASCII reports whether a is b (lower-case letters) but for
// the case of some letters.
func equalFoldASCII(a []byte, b string) bool {
	for i := range a {
		if a[i] != b[i] && a[i]|0x20 != b[i] {
			return false
		}
	}
	return true
}

// str reads a string without escapes or control characters, returning
// its content.
func (s *scanner) str() []byte {
	s.byte('"')
	for i := 0; s.ok && i < len(s.p); i++ {
		switch c := s.p[i]; {
		case c == '"':
			v := s.p[:i]
			s.p = s.p[i+1:]
			return v
		case c == '\\' || c < 0x20:
			s.ok = false
		}
	}
	s.ok = false
	return nil
}

// scalar reads a string, number, true, false or null, and returns its
// JSON text.
func (s *scanner) scalar() []byte {
	if s.space(); !s.ok || len(s.p) == 0 {
		s.ok = false
		return nil
	}
	start := s.p
	switch c := s.p[0]; {
	case c == '"':
		s.str()
	case c == '-' || c >= '0' && c <= '9':
		s.number()
	case c == 't':
		s.literal("true")
	case c == 'f':
		s.literal("false")
	case c == 'n':
		s.literal("null")
	default:
		s.ok = false
	}
	if !s.ok {
		return nil
	}
	return start[:len(start)-len(s.p)]
}

func (s *scanner) literal(word string) {
	if len(s.p) < len(word) || string(s.p[:len(word)]) != word {
		s.ok = false
		return
	}
	s.p = s.p[len(word):]
}

// number reads a JSON number: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
func (s *scanner) number() {
	p := s.p
	if len(p) > 0 && p[0] == '-' {
		p = p[1:]
	}
	switch {
	case len(p) > 0 && p[0] == '0':
		p = p[1:]
	case len(p) > 0 && p[0] >= '1' && p[0] <= '9':
		p = digits(p)
	default:
		s.ok = false
		return
	}
	if len(p) > 0 && p[0] == '.' {
		if p = p[1:]; len(p) == 0 || p[0] < '0' || p[0] > '9' {
			s.ok = false
			return
		}
		p = digits(p)
	}
	if len(p) > 0 && (p[0] == 'e' || p[0] == 'E') {
		p = p[1:]
		if len(p) > 0 && (p[0] == '+' || p[0] == '-') {
			p = p[1:]
		}
		if len(p) == 0 || p[0] < '0' || p[0] > '9' {
			s.ok = false
			return
		}
		p = digits(p)
	}
	s.p = p
}

func digits(p []byte) []byte {
	for len(p) > 0 && p[0] >= '0' && p[0] <= '9' {
		p = p[1:]
	}
	return p
}

// unquote returns a JSON string's content: directly when it is plain
// (no escape, no control character, valid UTF-8), else as encoding/json
// reads it.
func unquote(raw []byte) (string, error) {
	plain := len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && utf8.Valid(raw)
	for i := 1; plain && i < len(raw)-1; i++ {
		if c := raw[i]; c == '\\' || c == '"' || c < 0x20 {
			plain = false
		}
	}
	if plain {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}
