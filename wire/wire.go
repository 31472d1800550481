// Package wire is what Runlet's parts say to each other over the bus: the
// bodies and headers of dispatch, output frames, input, control, status,
// heartbeat and event messages, with their encoders and decoders. The server,
// the daemon and every viewer (CLI, web) speak it; it is versioned by the
// ".v1" of the routing keys in bus/key.go.
//
// Control-plane messages are JSON; terminal frames and input are raw bytes
// with their sequence number in a header, so a keystroke costs no encoding.
package wire

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
)

// MaxJSON bounds the size of a JSON message the decoders accept.
const MaxJSON = 1 << 20

// Dispatch asks a device to run an execution; it waits in the device's
// durable queue (bus.DispatchKey) until the device takes it or it expires.
type Dispatch struct {
	Execution    string      `json:"execution"`
	Job          string      `json:"job"`
	Client       string      `json:"client"`
	Script       string      `json:"script"` // rendered
	Entrypoint   []string    `json:"entrypoint,omitempty"`
	Cwd          string      `json:"cwd,omitempty"`
	ShowDuration bool        `json:"showDuration,omitempty"`
	Size         runlet.Size `json:"size,omitzero"`
	Created      time.Time   `json:"created"`
	Scheduled    time.Time   `json:"scheduled,omitzero"`
	Expires      time.Time   `json:"expires,omitzero"`
	// Timeout is how long the run may take once it has started: then the
	// device stops it, and kills it after its grace period. 0: no limit.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// Validate reports what is missing from d.
func (d *Dispatch) Validate() error {
	switch {
	case d.Execution == "":
		return fmt.Errorf("dispatch without an execution id")
	case d.Job == "":
		return fmt.Errorf("dispatch of execution %s without a job name", d.Execution)
	case d.Script == "":
		return fmt.Errorf("dispatch of execution %s without a script", d.Execution)
	}
	return nil
}

// ControlOp is what a control message asks of a running execution.
type ControlOp string

const (
	OpStop   ControlOp = "stop"   // SIGTERM, then SIGKILL after a grace period
	OpKill   ControlOp = "kill"   // SIGKILL now
	OpResize ControlOp = "resize" // window size
	OpReplay ControlOp = "replay" // resend frames from From to Viewer
)

// Control is a viewer's request to the device running an execution.
//
// A resize with a Viewer is that viewer's window size. The job takes the
// size of the viewer that acted most recently (as tmux's window-size
// latest): one that typed (its input carries HeaderViewer), or one whose
// resize is Active (a CLI attaching to type). A viewer that only watches
// sends its size too, which the job takes once that viewer types. A resize
// without a Viewer applies at once.
type Control struct {
	Op   ControlOp   `json:"op"`
	Size runlet.Size `json:"size,omitzero"`
	From uint64      `json:"from,omitempty"` // replay: first sequence number wanted
	// Viewer is, for a replay, where to send it (bus.ReplayKey); for a
	// resize, whose window it is.
	Viewer string `json:"viewer,omitempty"`
	// Active marks a resize from a viewer that acts now: the job takes its
	// size at once, as when it types.
	Active bool   `json:"active,omitempty"`
	By     string `json:"by,omitempty"` // who asked, for the audit trail
}

// Validate reports what is wrong with c.
func (c *Control) Validate() error {
	switch c.Op {
	case OpStop, OpKill:
	case OpResize:
		if c.Size.Cols == 0 || c.Size.Rows == 0 {
			return fmt.Errorf("resize to %dx%d: both sides must be positive", c.Size.Cols, c.Size.Rows)
		}
	case OpReplay:
		if c.Viewer == "" {
			return fmt.Errorf("replay without a viewer to send to")
		}
	default:
		return fmt.Errorf("unknown control %q (want stop, kill, resize or replay)", c.Op)
	}
	return nil
}

// ControlMessage is the bus message carrying c on key (bus.ControlKey of
// the execution and its device): the one way to build one, so that no
// request the device would refuse (Validate) leaves for the bus.
func ControlMessage(key bus.Key, c Control) (bus.Message, error) {
	if err := c.Validate(); err != nil {
		return bus.Message{}, err
	}
	body, err := Encode(c)
	if err != nil {
		return bus.Message{}, err
	}
	return bus.Message{Key: key, Body: body}, nil
}

// Status is an execution's state as the device reports it; the server
// applies it to the database, where transitions only move forward.
type Status struct {
	runlet.Execution
	LastSeq uint64 `json:"lastSeq"` // frames so far
}

// Heartbeat is a device's presence, sent every few minutes and whenever
// Running or Queued change (daemon/heartbeat.go). Zero counts are left
// out: an idle device's heartbeats are most of its bandwidth.
type Heartbeat struct {
	Device  string        `json:"device"`
	OS      string        `json:"os"`
	Arch    string        `json:"arch"`
	Version string        `json:"version"`
	CPU     float64       `json:"cpu"`    // percent of all cores
	Memory  float64       `json:"memory"` // percent used
	Uptime  time.Duration `json:"uptime"`
	Running int           `json:"running,omitempty"`
	Queued  int           `json:"queued,omitempty"`
	Time    time.Time     `json:"time"`
	// Interval is when the next heartbeat is due; a viewer that hears
	// nothing for three intervals shows the device offline.
	Interval time.Duration `json:"interval"`
	// Leaving is the last heartbeat of a daemon that stops: the device is
	// offline now, not three intervals later.
	Leaving bool `json:"leaving,omitempty"`
	// Telemetry is what the device's sensors' gateway did since the
	// daemon started, and its outbox now; nil when it has nothing to say
	// (no reading taken, refused or waiting), so that it costs an idle
	// device nothing.
	Telemetry *TelemetryStats `json:"telemetry,omitempty"`
}

// TelemetryStats is a device's telemetry outbox in a heartbeat: readings
// accepted and refused since the daemon started, those waiting for the
// broker, and those dropped, oldest first, because the outbox was full
// (Full: it is dropping now). Servers and the UI say so loudly.
type TelemetryStats struct {
	Accepted uint64 `json:"accepted,omitempty"`
	Refused  uint64 `json:"refused,omitempty"`
	Pending  uint64 `json:"pending,omitempty"`
	Dropped  uint64 `json:"dropped,omitempty"`
	Full     bool   `json:"full,omitempty"`
}

// MaxHeartbeatText bounds each text field of a heartbeat, in characters.
const MaxHeartbeatText = 64

// Check refuses a heartbeat whose text fields (Device, OS, Arch, Version)
// hold control characters or are longer than MaxHeartbeatText: any device
// writes them, and people read them in 'runlet devices' and the web UI.
func (h Heartbeat) Check() error {
	for _, f := range []struct{ name, value string }{
		{"The device name", h.Device}, {"The device's OS", h.OS},
		{"The device's arch", h.Arch}, {"The device's version", h.Version},
	} {
		if err := runlet.CheckText(f.name, f.value, MaxHeartbeatText); err != nil {
			return err
		}
	}
	return nil
}

// EventType says what changed in a workspace.
type EventType string

const (
	EventExecution EventType = "execution"
	EventJobs      EventType = "jobs"
	EventDevice    EventType = "device"
)

// Event tells everyone in a workspace that something changed.
type Event struct {
	Type      EventType         `json:"type"`
	Execution *runlet.Execution `json:"execution,omitempty"`
	Device    string            `json:"device,omitempty"`
	Online    *bool             `json:"online,omitempty"`
	Version   int64             `json:"version,omitempty"` // jobs
	Time      time.Time         `json:"time"`
}

// Headers of frame and input messages.
const (
	HeaderSeq    = "seq"    // frame or input sequence number
	HeaderTime   = "time"   // frame time, unix nanoseconds
	HeaderEOF    = "eof"    // on the end marker: the last sequence number
	HeaderViewer = "viewer" // input: who typed
	// HeaderReplayed marks the end of a replay of a running execution: its
	// value is the last sequence number sent; live frames follow on the
	// output key.
	HeaderReplayed = "replayed"
	// HeaderLogEncrypted, on an end marker sent as the answer to a
	// replay, says that the frames the viewer lacks are in the run's
	// encrypted log only (its plaintext frame log is gone, R-LOG-1): the
	// viewer reads that log instead (`runlet logs`, the web's log panel).
	HeaderLogEncrypted = "log-encrypted"
)

// ReplayedMessage marks the end of a replay of a still running execution.
func ReplayedMessage(key bus.Key, last uint64) bus.Message {
	return bus.Message{Key: key, Header: map[string]string{HeaderReplayed: strconv.FormatUint(last, 10)}}
}

// Frame is one piece of terminal output with its sequence number.
type Frame struct {
	Seq  uint64
	Time time.Time
	Data []byte
}

// FrameMessage is the bus message carrying f on key.
func FrameMessage(key bus.Key, f Frame) bus.Message {
	return bus.Message{
		Key:  key,
		Body: f.Data,
		Header: map[string]string{
			HeaderSeq:  strconv.FormatUint(f.Seq, 10),
			HeaderTime: strconv.FormatInt(f.Time.UnixNano(), 10),
		},
	}
}

// EndMessage marks the end of an execution's output: last is the sequence
// number of its final frame.
func EndMessage(key bus.Key, last uint64) bus.Message {
	return bus.Message{Key: key, Header: map[string]string{HeaderEOF: strconv.FormatUint(last, 10)}}
}

// EncryptedEndMessage is EndMessage for a replay of an execution whose
// plaintext frame log is gone and whose encrypted log holds its frames
// up to last: the device cannot send them, the viewer reads that log.
func EncryptedEndMessage(key bus.Key, last uint64) bus.Message {
	m := EndMessage(key, last)
	m.Header[HeaderLogEncrypted] = "1"
	return m
}

// LogEncrypted reports whether m is an end marker made by
// EncryptedEndMessage.
func LogEncrypted(m bus.Message) bool {
	_, end := m.Header[HeaderEOF]
	return end && m.Header[HeaderLogEncrypted] == "1"
}

// ParseOutput reads an output message: a frame, or the end marker (end is
// true and last is the final sequence number).
func ParseOutput(m bus.Message) (f Frame, end bool, last uint64, err error) {
	if v, ok := m.Header[HeaderEOF]; ok {
		last, err = strconv.ParseUint(v, 10, 64)
		if err != nil {
			return Frame{}, false, 0, fmt.Errorf("output end marker: bad last sequence %q", v)
		}
		return Frame{}, true, last, nil
	}
	seq, err := strconv.ParseUint(m.Header[HeaderSeq], 10, 64)
	if err != nil || seq == 0 {
		return Frame{}, false, 0, fmt.Errorf("output frame: bad sequence number %q", m.Header[HeaderSeq])
	}
	f = Frame{Seq: seq, Data: m.Body}
	if ns, err := strconv.ParseInt(m.Header[HeaderTime], 10, 64); err == nil {
		f.Time = time.Unix(0, ns)
	}
	return f, false, 0, nil
}

// InputMessage carries keystrokes typed by viewer.
func InputMessage(key bus.Key, viewer string, seq uint64, data []byte) bus.Message {
	return bus.Message{Key: key, Body: data, Header: map[string]string{
		HeaderSeq:    strconv.FormatUint(seq, 10),
		HeaderViewer: viewer,
	}}
}

// ParseInput reads an input message.
func ParseInput(m bus.Message) (viewer string, seq uint64, data []byte, err error) {
	seq, err = strconv.ParseUint(m.Header[HeaderSeq], 10, 64)
	if err != nil {
		return "", 0, nil, fmt.Errorf("input: bad sequence number %q", m.Header[HeaderSeq])
	}
	return m.Header[HeaderViewer], seq, m.Body, nil
}

// Encode is json.Marshal for the message types of this package.
func Encode(v any) ([]byte, error) { return json.Marshal(v) }

// Decode parses a JSON body into v, refusing oversized bodies.
func Decode(body []byte, v any) error {
	if len(body) > MaxJSON {
		return fmt.Errorf("message of %d bytes is larger than the %d allowed", len(body), MaxJSON)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("malformed message: %w", err)
	}
	return nil
}

// ParseReplayed reports whether m is the end-of-replay marker of a running
// execution, and the last sequence number it covered.
func ParseReplayed(m bus.Message) (last uint64, ok bool) {
	v, found := m.Header[HeaderReplayed]
	if !found {
		return 0, false
	}
	last, err := strconv.ParseUint(v, 10, 64)
	return last, err == nil
}
