package main

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
)

// natsConn parses both directions of one NATS client connection and
// attributes every protocol line and payload to a source. The requests a
// device makes (their reply subjects) are remembered so that the answers
// coming back are counted with them.
type natsConn struct {
	m       *meter
	mu      sync.Mutex
	replies map[string]string // reply subject → source of the request
	dirs    [2]natsStream
}

func newNATSConn(m *meter) *natsConn {
	c := &natsConn{m: m, replies: map[string]string{}}
	for d := range 2 {
		c.dirs[d] = natsStream{c: c, dir: d}
	}
	return c
}

func (c *natsConn) feed(dir int, p []byte) { c.dirs[dir].feed(p) }

// natsStream is one direction of a connection.
type natsStream struct {
	c   *natsConn
	dir int
	buf []byte
}

func (s *natsStream) feed(p []byte) {
	s.buf = append(s.buf, p...)
	for {
		n := s.next()
		if n == 0 {
			return
		}
		s.buf = s.buf[n:]
	}
}

// next attributes the first whole protocol message in buf and returns its
// length, or 0 when buf does not hold a whole one yet.
func (s *natsStream) next() int {
	i := bytes.Index(s.buf, []byte("\r\n"))
	if i < 0 {
		return 0
	}
	line := string(s.buf[:i])
	f := strings.Fields(line)
	if len(f) == 0 {
		s.c.m.add("NATS protocol (other)", s.dir, int64(i+2))
		return i + 2
	}
	op := strings.ToUpper(f[0])
	switch op {
	case "PUB", "HPUB", "MSG", "HMSG":
	default:
		s.c.m.add(natsOpSource(op), s.dir, int64(i+2))
		return i + 2
	}
	size, err := strconv.Atoi(f[len(f)-1])
	if err != nil || len(f) < 3 {
		s.c.m.add("NATS protocol (other)", s.dir, int64(i+2))
		return i + 2
	}
	end := i + 2 + size + 2
	if len(s.buf) < end {
		return 0
	}
	payload := s.buf[i+2 : i+2+size]
	subject := f[1]
	var reply string
	switch op {
	case "PUB":
		if len(f) == 4 {
			reply = f[2]
		}
	case "HPUB":
		if len(f) == 5 {
			reply = f[2]
		}
	case "MSG":
		if len(f) == 5 {
			reply = f[3]
		}
	case "HMSG":
		if len(f) == 6 {
			reply = f[3]
		}
	}
	s.c.m.add(s.c.source(s.dir, subject, reply, payload), s.dir, int64(end))
	return end
}

func natsOpSource(op string) string {
	switch op {
	case "PING", "PONG":
		return "NATS keepalive (PING/PONG)"
	case "INFO", "CONNECT", "SUB", "UNSUB", "+OK", "-ERR":
		return "NATS connection and subscriptions"
	}
	return "NATS protocol (other)"
}

// source names what a message is for, from its subject, the request it
// answers, or its status header.
func (c *natsConn) source(dir int, subject, reply string, payload []byte) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if dir == down {
		switch {
		case bytes.HasPrefix(payload, []byte("NATS/1.0 100")):
			return "JetStream pull (idle heartbeat)"
		case bytes.HasPrefix(payload, []byte("NATS/1.0 408")), bytes.HasPrefix(payload, []byte("NATS/1.0 409")):
			return "JetStream pull (expired)"
		}
		if src, ok := c.replies[subject]; ok {
			if src != "JetStream pull" {
				delete(c.replies, subject)
			}
			return src + " (answer)"
		}
	}
	src := subjectSource(subject)
	if reply != "" && dir == up {
		c.replies[reply] = src
		if src == "JetStream pull request" {
			// Pulls answer on one inbox of the subscription: its status
			// messages and deliveries come back on reply.* too.
			c.replies[reply] = "JetStream pull"
		}
	}
	return src
}

// subjectSource names the source of a message by its subject.
func subjectSource(subject string) string {
	switch {
	case strings.HasPrefix(subject, "$JS.API.CONSUMER.MSG.NEXT."):
		return "JetStream pull request"
	case strings.HasPrefix(subject, "$JS.API."):
		return "JetStream API"
	case strings.HasPrefix(subject, "$JS.ACK."):
		return "JetStream ack"
	case strings.HasPrefix(subject, "ws.") && strings.Contains(subject, ".telemetry."):
		return "telemetry (copy for transient subscribers)"
	}
	return keySource(subject)
}

// keySource names the source of a message by the words of its key or
// subject, whatever the broker's prefix.
func keySource(k string) string {
	switch {
	case strings.Contains(k, ".heartbeat."):
		return "heartbeat"
	case strings.HasPrefix(k, "telemetry.") || strings.Contains(k, ".telemetry."):
		return "telemetry"
	case strings.Contains(k, ".status."):
		return "status"
	case strings.Contains(k, ".dispatch."):
		return "dispatch"
	case strings.Contains(k, "event"):
		return "events"
	}
	return "other: " + k
}
