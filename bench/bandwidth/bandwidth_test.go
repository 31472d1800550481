package main

import (
	"context"
	"encoding/binary"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/internal/testenv"
)

// TestNATSParser attributes each protocol message to its source, split
// anywhere, and counts every byte.
func TestNATSParser(t *testing.T) {
	up := "PING\r\n" +
		"PUB ws.w1.daemon.pi.heartbeat.v1 5\r\nhello\r\n" +
		"PUB $JS.API.CONSUMER.MSG.NEXT.RL-w1-d.runlet _INBOX.pi.1 2\r\n{}\r\n" +
		"HPUB wsd.w1.telemetry.pi.v1 _INBOX.pi.2 12 14\r\nNATS/1.0\r\n\r\nab\r\n"
	down := "PONG\r\n" +
		"HMSG _INBOX.pi.1 1 30 30\r\nNATS/1.0 100 Idle Heartbeat\r\n\r\n\r\n" +
		"MSG _INBOX.pi.2 2 2\r\nok\r\n"
	for _, cut := range []int{1, 3, 7, 1000} {
		m := newMeter()
		c := newNATSConn(m)
		for i := 0; i < len(up); i += cut {
			c.feed(0, []byte(up[i:min(i+cut, len(up))]))
		}
		for i := 0; i < len(down); i += cut {
			c.feed(1, []byte(down[i:min(i+cut, len(down))]))
		}
		s := m.snapshot()
		want := map[string][2]int64{
			"NATS keepalive (PING/PONG)":      {1, 1},
			"heartbeat":                       {1, 0},
			"JetStream pull request":          {1, 0},
			"JetStream pull (idle heartbeat)": {0, 1},
			"telemetry":                       {1, 0},
			"telemetry (answer)":              {0, 1},
		}
		var total [2]int64
		for src, w := range want {
			got := s.By[src]
			if got.Msgs != w {
				t.Errorf("cut %d: %s: %v messages, want %v", cut, src, got.Msgs, w)
			}
		}
		for _, v := range s.By {
			total[0] += v.Bytes[0]
			total[1] += v.Bytes[1]
		}
		if total != [2]int64{int64(len(up)), int64(len(down))} {
			t.Errorf("cut %d: attributed %v bytes, want %d up, %d down", cut, total, len(up), len(down))
		}
	}
}

// TestAMQPParser attributes a publish with its content frames, and
// heartbeats.
func TestAMQPParser(t *testing.T) {
	frame := func(typ byte, payload []byte) []byte {
		b := []byte{typ, 0, 1, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[3:], uint32(len(payload)))
		return append(append(b, payload...), 0xCE)
	}
	key := "telemetry.pi.v1"
	publish := append([]byte{0, 60, 0, 40, 0, 0, 2, 'e', 'x', byte(len(key))}, key...)
	stream := append([]byte("AMQP\x00\x00\x09\x01"), frame(1, publish)...)
	stream = append(stream, frame(2, make([]byte, 14))...)
	stream = append(stream, frame(3, []byte("body"))...)
	stream = append(stream, frame(8, nil)...)
	m := newMeter()
	p := newAMQPStream(m, 0)
	for _, b := range stream {
		p.feed([]byte{b})
	}
	s := m.snapshot()
	if got := s.By["telemetry"]; got.Msgs[0] != 1 || got.Bytes[0] != int64(len(stream)-8-8) {
		t.Errorf("telemetry: %+v, want 1 message of %d bytes", got, len(stream)-16)
	}
	if got := s.By["AMQP heartbeat"]; got.Msgs[0] != 1 || got.Bytes[0] != 8 {
		t.Errorf("heartbeat: %+v, want 1 frame of 8 bytes", got)
	}
}

// FuzzNATSParser: whatever crosses the proxy, the parser neither panics
// nor attributes more bytes than it was given.
func FuzzNATSParser(f *testing.F) {
	f.Add([]byte("PUB a 2\r\nhi\r\nPING\r\n"), []byte("HMSG _INBOX.x 1 12 12\r\nNATS/1.0 408\r\n"))
	f.Add([]byte("HPUB a b 99999999999999999999 1\r\n"), []byte("MSG\r\n"))
	f.Fuzz(func(t *testing.T, up, down []byte) {
		m := newMeter()
		c := newNATSConn(m)
		c.feed(0, up)
		c.feed(1, down)
		p := newAMQPStream(m, 0)
		p.feed(up)
		for _, v := range m.snapshot().By {
			if v.Bytes[0] > int64(2*len(up)) || v.Bytes[1] > int64(len(down)) {
				t.Fatalf("attributed %v bytes of %d up, %d down", v.Bytes, len(up), len(down))
			}
		}
	})
}

// TestBandwidthSmoke runs the program on embedded NATS for a moment: it
// works end to end. It says nothing about the month.
func TestBandwidthSmoke(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the fleet runs on Linux here")
	}
	defer testenv.HermeticHome()()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	o := options{Brokers: []string{"nats"}, Window: time.Second, Settle: 0, Publishes: 2, Body: 60, Sensors: 3, Every: 15 * time.Minute}
	rep, err := run(ctx, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	var months int
	for _, r := range rep.Results {
		if !strings.HasSuffix(r.Case, "month") {
			continue
		}
		months++
		if r.Metric != "idle" && r.Value <= 0 {
			t.Errorf("%s, %s: %v MB", r.Case, r.Metric, r.Value)
		}
	}
	if months != 3 {
		t.Errorf("%d month results, want 3 (idle, two telemetry cases): %+v", months, rep.Results)
	}
}
