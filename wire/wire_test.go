package wire

import (
	"bytes"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
)

func TestFrameRoundTrip(t *testing.T) {
	now := time.Unix(0, 1_700_000_000_123_456_789)
	key := bus.OutputKey("e1", "pi-1")
	m := FrameMessage(key, Frame{Seq: 42, Time: now, Data: []byte("\x1b[1mhi\r\n")})
	f, end, _, err := ParseOutput(m)
	if err != nil || end {
		t.Fatalf("ParseOutput = %v, end %v", err, end)
	}
	if f.Seq != 42 || !f.Time.Equal(now) || !bytes.Equal(f.Data, []byte("\x1b[1mhi\r\n")) {
		t.Fatalf("got %+v", f)
	}
	_, end, last, err := ParseOutput(EndMessage(key, 99))
	if err != nil || !end || last != 99 {
		t.Fatalf("end marker: end %v last %d err %v", end, last, err)
	}
	if _, _, _, err := ParseOutput(bus.Message{Header: map[string]string{HeaderSeq: "x"}}); err == nil {
		t.Fatal("a frame with a bad sequence number was accepted")
	}
	if _, _, _, err := ParseOutput(bus.Message{}); err == nil {
		t.Fatal("a frame without a sequence number was accepted")
	}
}

func TestEncryptedEndMarker(t *testing.T) {
	key := bus.ReplayKey("e1", "pi-1", "v")
	m := EncryptedEndMessage(key, 12)
	_, end, last, err := ParseOutput(m)
	if err != nil || !end || last != 12 {
		t.Fatalf("encrypted end marker: end %v last %d err %v", end, last, err)
	}
	if !LogEncrypted(m) {
		t.Error("LogEncrypted is false for an encrypted end marker")
	}
	if LogEncrypted(EndMessage(key, 12)) {
		t.Error("LogEncrypted is true for a plain end marker")
	}
	frame := FrameMessage(key, Frame{Seq: 1})
	frame.Header[HeaderLogEncrypted] = "1"
	if LogEncrypted(frame) {
		t.Error("LogEncrypted is true for a frame")
	}
}

func TestInputRoundTrip(t *testing.T) {
	m := InputMessage(bus.InputKey("e", "d"), "v1", 7, []byte{0x1b, '[', 'A'})
	v, seq, data, err := ParseInput(m)
	if err != nil || v != "v1" || seq != 7 || !bytes.Equal(data, []byte{0x1b, '[', 'A'}) {
		t.Fatalf("got %q %d %q %v", v, seq, data, err)
	}
}

func TestControlValidate(t *testing.T) {
	good := []Control{{Op: OpStop}, {Op: OpKill}, {Op: OpResize, Size: runlet.Size{Cols: 80, Rows: 24}}, {Op: OpReplay, From: 1, Viewer: "v"}}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	bad := []Control{{Op: "reboot"}, {Op: OpResize}, {Op: OpReplay}}
	for _, c := range bad {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestControlMessage(t *testing.T) {
	key := bus.ControlKey("e1", "pi-1")
	want := Control{Op: OpReplay, From: 3, Viewer: "v1", By: "ann"}
	m, err := ControlMessage(key, want)
	if err != nil || m.Key != key {
		t.Fatalf("ControlMessage = %+v, %v", m, err)
	}
	var got Control
	if err := Decode(m.Body, &got); err != nil || got != want {
		t.Errorf("decoded %+v, %v; want %+v", got, err, want)
	}
	for _, c := range []Control{{Op: "reboot"}, {Op: OpResize}, {Op: OpReplay, From: 1}} {
		if m, err := ControlMessage(key, c); err == nil {
			t.Errorf("%+v became %+v; want an error", c, m)
		}
	}
}

func TestDecodeRefusesJunk(t *testing.T) {
	var d Dispatch
	if err := Decode([]byte("{"), &d); err == nil {
		t.Fatal("malformed JSON accepted")
	}
	if err := Decode(make([]byte, MaxJSON+1), &d); err == nil {
		t.Fatal("oversized body accepted")
	}
	if err := (&Dispatch{Execution: "e", Job: "j"}).Validate(); err == nil {
		t.Fatal("dispatch without a script accepted")
	}
}

func FuzzDecodeControl(f *testing.F) {
	f.Add([]byte(`{"op":"resize","size":{"cols":80,"rows":24}}`))
	f.Add([]byte(`{"op":"replay","from":3,"viewer":"v"}`))
	f.Add([]byte(`{"op":"kill"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Control
		if Decode(b, &c) != nil || c.Validate() != nil {
			return
		}
		switch c.Op {
		case OpStop, OpKill, OpResize, OpReplay:
		default:
			t.Fatalf("validated an unknown op %q", c.Op)
		}
	})
}

func FuzzParseOutput(f *testing.F) {
	f.Add("1", "", "", []byte("x"))
	f.Add("", "", "5", []byte(nil))
	f.Fuzz(func(t *testing.T, seq, tm, eof string, body []byte) {
		h := map[string]string{}
		if seq != "" {
			h[HeaderSeq] = seq
		}
		if tm != "" {
			h[HeaderTime] = tm
		}
		if eof != "" {
			h[HeaderEOF] = eof
		}
		fr, end, _, err := ParseOutput(bus.Message{Header: h, Body: body})
		if err == nil && !end && fr.Seq == 0 {
			t.Fatal("accepted a frame numbered 0")
		}
	})
}
