package bus

import "testing"

func TestKeysFollowTheArchitecture(t *testing.T) {
	tests := []struct {
		got  Key
		want string
	}{
		{DispatchKey("pi-1"), "device.pi-1.dispatch.v1"},
		{OutputKey("e1", "pi-1"), "job.e1.pi-1.io.output.v1"},
		{InputKey("e1", "pi-1"), "job.e1.pi-1.io.input.v1"},
		{ControlKey("e1", "mac"), "job.e1.mac.control.v1"},
		{StatusKey("e1", "mac"), "job.e1.mac.status.v1"},
		{TelemetryKey("gw"), "telemetry.gw.v1"},
		{HeartbeatKey("pi-1"), "daemon.pi-1.heartbeat.v1"},
		{EventKey, "workspace.event.v1"},
		// A dot in a device name must not add a word.
		{DispatchKey("pi.lab"), "device.pi%2Elab.dispatch.v1"},
		{OutputKey("e1", "a*b#c>d e"), "job.e1.a%2Ab%23c%3Ed%20e.io.output.v1"},
		{DispatchKey(""), "device.%.dispatch.v1"},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
		if err := tt.got.Validate(false); err != nil {
			t.Errorf("%q: %v", tt.got, err)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, key Key
		want         bool
	}{
		{AllStatus, StatusKey("e", "d"), true},
		{AllStatus, OutputKey("e", "d"), false},
		{"job.e.*.io.output.v1", OutputKey("e", "pi-1"), true},
		{"job.e.*.io.output.v1", OutputKey("f", "pi-1"), false},
		{"job.e.#", ControlKey("e", "pi-1"), true},
		{"job.e.#", Key("job.e"), false}, // '#' needs at least one word here
		{AllHeartbeats, HeartbeatKey("pi.lab"), true},
		{"a.#", "a.b.c", true},
		{"a.*", "a.b.c", false},
		{"a.b", "a.b", true},
		{"a.b", "a.b.c", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.key); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.key, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []struct {
		k         Key
		wildcards bool
	}{
		{"", true}, {"a..b", true}, {"a.#.b", true}, {"a.*", false}, {"a.b*", true}, {"a.>", true},
	}
	for _, tt := range bad {
		if tt.k.Validate(tt.wildcards) == nil {
			t.Errorf("Validate(%q, %v) accepted a bad key", tt.k, tt.wildcards)
		}
	}
	for _, k := range []Key{"a.*.c", "a.#", "#", "*"} {
		if err := k.Validate(true); err != nil {
			t.Errorf("Validate(%q): %v", k, err)
		}
	}
}

func FuzzWord(f *testing.F) {
	for _, s := range []string{"pi-1", "a.b", "", "*", "#", ">", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := DispatchKey(s)
		if err := k.Validate(false); err != nil {
			t.Fatalf("DispatchKey(%q) = %q: %v", s, k, err)
		}
		if len(k.Words()) != 4 {
			t.Fatalf("DispatchKey(%q) = %q has %d words", s, k, len(k.Words()))
		}
		if !Match("device.*.dispatch.v1", k) {
			t.Fatalf("DispatchKey(%q) = %q does not match its pattern", s, k)
		}
	})
}
