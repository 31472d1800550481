package outbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet/bus"
)

// An entry is one file, <number>.json, numbered in the order of Put (zero
// padded to 20 digits, so that names sort like numbers). It holds one JSON
// object on one line:
//
//	{"v":1,"crc":<CRC-32C of msg's bytes as written>,"msg":{"id":…,"key":…,
//	 "header":{…},"body":<base64>,"expires":…,"time":…}}
//
// The checksum turns a damaged file into an error rather than a wrong
// message; the file is written whole (atomicfile), so a crash leaves none.
const entryVersion = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// entryFile is the outside of an entry; Msg keeps the bytes the checksum
// covers.
type entryFile struct {
	V   int             `json:"v"`
	CRC uint32          `json:"crc"`
	Msg json.RawMessage `json:"msg"`
}

// entryMsg is bus.Message on disk.
type entryMsg struct {
	ID      string            `json:"id"`
	Key     bus.Key           `json:"key"`
	Header  map[string]string `json:"header,omitempty"`
	Body    []byte            `json:"body"`
	Expires time.Time         `json:"expires,omitzero"`
	Time    time.Time         `json:"time,omitzero"`
}

// errNotEntry: the file is not in this format at all (an older one, for
// Options.Legacy).
var errNotEntry = errors.New("not an outbox entry")

func encodeEntry(m bus.Message) ([]byte, error) {
	msg, err := json.Marshal(entryMsg{
		ID: m.ID, Key: m.Key, Header: m.Header, Body: m.Body,
		Expires: m.ExpiresAt, Time: m.Time,
	})
	if err != nil {
		return nil, err
	}
	// Written by hand, so that the bytes of msg are those summed.
	var b bytes.Buffer
	b.WriteString(`{"v":` + strconv.Itoa(entryVersion) + `,"crc":`)
	b.WriteString(strconv.FormatUint(uint64(crc32.Checksum(msg, castagnoli)), 10))
	b.WriteString(`,"msg":`)
	b.Write(msg)
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// decodeEntry reads the message of an entry file; errNotEntry (wrapped)
// when b is not an entry of any version.
func decodeEntry(b []byte) (bus.Message, error) {
	var f entryFile
	if err := json.Unmarshal(b, &f); err != nil {
		if !strings.HasPrefix(string(bytes.TrimSpace(b)), `{"v":`) {
			return bus.Message{}, fmt.Errorf("%w: %w", errNotEntry, err)
		}
		return bus.Message{}, fmt.Errorf("damaged entry: %w", err)
	}
	switch {
	case f.V == 0:
		return bus.Message{}, errNotEntry
	case f.V != entryVersion:
		return bus.Message{}, fmt.Errorf("entry of version %d; this program reads version %d", f.V, entryVersion)
	}
	if sum := crc32.Checksum(f.Msg, castagnoli); sum != f.CRC {
		return bus.Message{}, fmt.Errorf("damaged entry: checksum %08x, want %08x", sum, f.CRC)
	}
	var m entryMsg
	dec := json.NewDecoder(bytes.NewReader(f.Msg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return bus.Message{}, fmt.Errorf("damaged entry: %w", err)
	}
	if m.ID == "" {
		return bus.Message{}, errors.New("damaged entry: no message id")
	}
	if err := m.Key.Validate(false); err != nil {
		return bus.Message{}, fmt.Errorf("damaged entry: %w", err)
	}
	return bus.Message{
		ID: m.ID, Key: m.Key, Header: m.Header, Body: m.Body,
		ExpiresAt: m.Expires, Time: m.Time,
	}, nil
}
