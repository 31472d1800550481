package nats

import (
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/runlet/runlet/bus"
)

// Headers the adapter sets besides the message's own. Header names of a
// Message starting with "Runlet-" or "Nats-" are reserved and not sent.
const (
	hdrID      = "Runlet-Id"
	hdrTime    = "Runlet-Time"
	hdrExpires = "Runlet-Expires"
)

func reserved(name string) bool {
	return strings.HasPrefix(name, "Runlet-") || strings.HasPrefix(name, "Nats-")
}

// fill gives m the ID and Time Publish promises.
func fill(m *bus.Message) {
	if m.ID == "" {
		m.ID = natsgo.NewInbox()[len(natsgo.InboxPrefix):]
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
}

// encode turns m into a NATS message on subject.
func encode(subject string, m bus.Message) *natsgo.Msg {
	h := make(natsgo.Header, len(m.Header)+3)
	for k, v := range m.Header {
		if !reserved(k) {
			h[k] = []string{v}
		}
	}
	h[hdrID] = []string{m.ID}
	h[hdrTime] = []string{m.Time.UTC().Format(time.RFC3339Nano)}
	if !m.ExpiresAt.IsZero() {
		h[hdrExpires] = []string{m.ExpiresAt.UTC().Format(time.RFC3339Nano)}
	}
	return &natsgo.Msg{Subject: subject, Header: h, Data: m.Body}
}

// decode turns a NATS message of workspace ws back into a Message.
func decode(ws, subject string, h natsgo.Header, body []byte) bus.Message {
	m := bus.Message{Key: key(ws, subject), Body: body}
	for k, vs := range h {
		if reserved(k) || len(vs) == 0 {
			continue
		}
		if m.Header == nil {
			m.Header = make(map[string]string, len(h))
		}
		m.Header[k] = vs[0]
	}
	m.ID = h.Get(hdrID)
	m.Time, _ = time.Parse(time.RFC3339Nano, h.Get(hdrTime))
	if v := h.Get(hdrExpires); v != "" {
		m.ExpiresAt, _ = time.Parse(time.RFC3339Nano, v)
	}
	return m
}
