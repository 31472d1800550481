package outbox

import (
	"bytes"
	"maps"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
)

func sameMessage(a, b bus.Message) bool {
	return a.ID == b.ID && a.Key == b.Key && bytes.Equal(a.Body, b.Body) &&
		maps.Equal(a.Header, b.Header) && a.ExpiresAt.Equal(b.ExpiresAt) && a.Time.Equal(b.Time)
}

var entrySeeds = []bus.Message{
	{ID: "e1/pi/Finished", Key: bus.StatusKey("e1", "pi"), Body: []byte(`{"id":"e1","status":"Finished"}`)},
	{ID: "r", Key: bus.TelemetryKey("pi 1"), Header: map[string]string{"content-type": "application/json", "": "\x00"},
		Body: []byte{0, 1, 2, 0xff}, ExpiresAt: time.Date(2031, 2, 3, 4, 5, 6, 7, time.UTC),
		Time: time.Date(2030, 2, 3, 4, 5, 6, 7, time.FixedZone("x", 3600))},
	{ID: "empty", Key: "a"},
}

func TestEntryRoundTrip(t *testing.T) {
	for _, m := range entrySeeds {
		b, err := encodeEntry(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeEntry(b)
		if err != nil {
			t.Fatalf("%s: %v\n%s", m.ID, err, b)
		}
		if !sameMessage(got, m) {
			t.Errorf("%s: decoded %+v, want %+v", m.ID, got, m)
		}
	}
}

// FuzzDecodeEntry: whatever a file holds, the decoder returns an error or
// a message Put could have written (a valid key, an id), which encodes and
// decodes again to itself; it never panics.
func FuzzDecodeEntry(f *testing.F) {
	for _, m := range entrySeeds {
		b, err := encodeEntry(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte(`{"id":"e1","device":"pi","status":"Finished","lastSeq":3}`)) // the daemon's older entries
	f.Add([]byte(`{"v":1,"crc":0,"msg":null}`))
	f.Add([]byte(`{"v":2,"crc":0,"msg":{}}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeEntry(b)
		if err != nil {
			return
		}
		if err := m.Key.Validate(false); err != nil || m.ID == "" {
			t.Fatalf("decoded a message Put would refuse: %+v (%v)", m, err)
		}
		b2, err := encodeEntry(m)
		if err != nil {
			t.Fatalf("a decoded message does not encode: %v", err)
		}
		m2, err := decodeEntry(b2)
		if err != nil {
			t.Fatalf("a re-encoded message does not decode: %v\n%s", err, b2)
		}
		if !sameMessage(m, m2) {
			t.Fatalf("decoded %+v, then %+v", m, m2)
		}
	})
}
