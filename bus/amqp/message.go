package amqp

import (
	"fmt"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/runlet/runlet/bus"
)

// Headers the adapter adds to carry what AMQP properties cannot: the
// publish time to the nanosecond (the timestamp property has seconds) and
// the expiry, checked at delivery.
const (
	headerPrefix  = "x-runlet-"
	headerTime    = headerPrefix + "time"
	headerExpires = headerPrefix + "expires"
)

// prepare validates m's key and fills its ID and Time.
func prepare(m *bus.Message) error {
	if err := m.Key.Validate(false); err != nil {
		return err
	}
	if m.ID == "" {
		m.ID = randomID()
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	return nil
}

func encode(m bus.Message, mode uint8) amqp.Publishing {
	h := make(amqp.Table, len(m.Header)+2)
	for k, v := range m.Header {
		h[k] = v
	}
	h[headerTime] = m.Time.UnixNano()
	if !m.ExpiresAt.IsZero() {
		h[headerExpires] = m.ExpiresAt.UnixNano()
	}
	return amqp.Publishing{
		Headers:      h,
		DeliveryMode: mode,
		MessageId:    m.ID,
		Timestamp:    m.Time,
		Body:         m.Body,
	}
}

func decode(d *amqp.Delivery) bus.Message {
	m := bus.Message{
		ID:   d.MessageId,
		Key:  bus.Key(d.RoutingKey),
		Body: d.Body,
		Time: d.Timestamp,
	}
	for k, v := range d.Headers {
		switch {
		case k == headerTime:
			if t, ok := unixNano(v); ok {
				m.Time = t
			}
		case k == headerExpires:
			if t, ok := unixNano(v); ok {
				m.ExpiresAt = t
			}
		case strings.HasPrefix(k, headerPrefix):
		default:
			if m.Header == nil {
				m.Header = make(map[string]string, len(d.Headers))
			}
			m.Header[k] = headerString(v)
		}
	}
	return m
}

func unixNano(v any) (time.Time, bool) {
	n, ok := v.(int64)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

// headerString reads a header value; other clients may send non-strings.
func headerString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	default:
		return fmt.Sprint(v)
	}
}
