package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// amqpStream parses one direction of an AMQP 0-9-1 connection frame by
// frame and attributes each frame to a source: content (header and body
// frames) to the source of the method that carries it on its channel.
type amqpStream struct {
	m       *meter
	dir     int
	buf     []byte
	started bool              // the protocol header is behind
	content map[uint16]string // channel → source of its content in flight
}

func newAMQPStream(m *meter, dir int) *amqpStream {
	return &amqpStream{m: m, dir: dir, started: dir == down, content: map[uint16]string{}}
}

// amqpHeader opens every AMQP 0-9-1 connection, from the client.
var amqpHeader = []byte("AMQP\x00\x00\x09\x01")

func (s *amqpStream) feed(p []byte) {
	s.buf = append(s.buf, p...)
	if !s.started {
		if len(s.buf) < len(amqpHeader) {
			return
		}
		if bytes.HasPrefix(s.buf, amqpHeader) {
			s.m.add("AMQP connection and channels", s.dir, int64(len(amqpHeader)))
			s.buf = s.buf[len(amqpHeader):]
		}
		s.started = true
	}
	for len(s.buf) >= 7 {
		size := int(binary.BigEndian.Uint32(s.buf[3:7]))
		end := 7 + size + 1
		if len(s.buf) < end {
			return
		}
		src := s.source(s.buf[0], binary.BigEndian.Uint16(s.buf[1:3]), s.buf[7:7+size])
		if t := s.buf[0]; t == frameHeader || t == frameBody {
			s.m.addContent(src, s.dir, int64(end)) // part of the publish or delivery before
		} else {
			s.m.add(src, s.dir, int64(end))
		}
		s.buf = s.buf[end:]
	}
}

// AMQP frame types.
const (
	frameMethod    = 1
	frameHeader    = 2
	frameBody      = 3
	frameHeartbeat = 8
)

func (s *amqpStream) source(typ byte, channel uint16, payload []byte) string {
	switch typ {
	case frameHeartbeat:
		return "AMQP heartbeat"
	case frameHeader, frameBody:
		if src, ok := s.content[channel]; ok {
			return src
		}
		return "AMQP content (unknown)"
	case frameMethod:
	default:
		return fmt.Sprintf("AMQP frame type %d", typ)
	}
	if len(payload) < 4 {
		return "AMQP method (short)"
	}
	class, method := binary.BigEndian.Uint16(payload), binary.BigEndian.Uint16(payload[2:])
	args := payload[4:]
	switch {
	case class == 60 && method == 40: // basic.publish: reserved, exchange, routing key
		src := keySource(shortStrings(args[min(2, len(args)):], 2)[1])
		s.content[channel] = src
		return src
	case class == 60 && method == 60: // basic.deliver: tag, delivery tag, redelivered, exchange, key
		tag, rest := shortString(args)
		_ = tag
		if len(rest) < 9 {
			return "AMQP method (short)"
		}
		src := keySource(shortStrings(rest[9:], 2)[1]) + " (delivered)"
		s.content[channel] = src
		return src
	case class == 60 && (method == 80 || method == 120): // basic.ack, basic.nack
		return "AMQP ack/confirm"
	case class == 60:
		return "AMQP consumer set-up (qos, consume)"
	case class == 10 || class == 20 || class == 85: // connection, channel, confirm
		return "AMQP connection and channels"
	case class == 40 || class == 50: // exchange, queue
		return "AMQP topology (declare, bind)"
	}
	return fmt.Sprintf("AMQP method %d.%d", class, method)
}

// shortString reads one AMQP short string and returns it and what follows.
func shortString(b []byte) (string, []byte) {
	if len(b) == 0 {
		return "", b
	}
	n := int(b[0])
	if len(b) < 1+n {
		return string(b[1:]), nil
	}
	return string(b[1 : 1+n]), b[1+n:]
}

// shortStrings reads n short strings in a row.
func shortStrings(b []byte, n int) []string {
	out := make([]string, n)
	for i := range n {
		out[i], b = shortString(b)
	}
	return out
}
