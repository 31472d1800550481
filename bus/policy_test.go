package bus

import (
	"strings"
	"testing"
)

func TestCovers(t *testing.T) {
	tests := []struct {
		a, p Key
		want bool
	}{
		{"a.b", "a.b", true},
		{"a.*", "a.b", true},
		{"a.*", "a.*", true},
		{"a.b", "a.*", false},
		{"a.#", "a.b.c", true},
		{"a.#", "a.*", true},
		{"a.#", "a.#", true},
		{"a.*", "a.#", false},
		{"a.*.c", "a.#", false},
		{"#", "a.b", true},
		{"a.b", "#", false},
		{"a.b.c", "a.b", false},
		{"a.b", "a.b.c", false},
		{"job.*.*.io.output.v1", "job.e.*.io.output.v1", true},
		{"job.*.pi.io.input.v1", "job.*.*.io.input.v1", false},
	}
	for _, tt := range tests {
		if got := Covers(tt.a, tt.p); got != tt.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tt.a, tt.p, got, tt.want)
		}
	}
}

// The holes of issue 11 as policy cases: device B of a workspace against
// device A of the same workspace.
func TestDevicePolicy(t *testing.T) {
	b := PolicyFor(Principal{Role: RoleDevice, Workspace: "w", Device: "pi-b"})
	pub := []struct {
		k    Key
		want bool
	}{
		{DispatchKey("pi-a"), false},         // 1: run commands on A
		{DispatchKey("pi-b"), false},         // only the server dispatches
		{StatusKey("e", "pi-a"), false},      // 3: forge A's status
		{StatusKey("e", "pi-b"), true},       //    its own
		{OutputKey("e", "pi-a"), false},      // 4: inject into A's terminal
		{ReplayKey("e", "pi-a", "v"), false}, //    also through a replay
		{OutputKey("e", "pi-b"), true},
		{ReplayKey("e", "pi-b", "v"), true},
		{HeartbeatKey("pi-a"), false}, // 6: speak in A's name
		{HeartbeatKey("pi-b"), true},
		{TelemetryKey("pi-a"), false},
		{TelemetryKey("pi-b"), true},
		{InputKey("e", "pi-a"), true},   // a viewer types into A's job
		{ControlKey("e", "pi-a"), true}, // and stops it
		{EventKey, false},               // the server's
		{"job.*.pi-b.status.v1", false}, // not a key
	}
	for _, tt := range pub {
		if got := b.MayPublish(tt.k); got != tt.want {
			t.Errorf("device pi-b MayPublish(%q) = %v, want %v", tt.k, got, tt.want)
		}
	}
	sub := []struct {
		p    Key
		want bool
	}{
		{"#", false},
		{"job.#", false},
		{"job.e.#", false},           // would carry A's input
		{DispatchKey("pi-a"), false}, // 1/2: A's scripts
		{"device.*.dispatch.v1", false},
		{InputKey("e", "pi-a"), false}, // 5: A's keystrokes
		{"job.*.*.io.input.v1", false},
		{"job.*.pi-b.io.input.v1", true},
		{"job.*.pi-a.control.v1", false},
		{"job.*.pi-b.control.v1", true},
		{OutputKey("e", "pi-a"), true}, // a viewer of A's job
		{ReplayKey("e", "pi-a", "me"), true},
		{StatusKey("e", "pi-a"), true},
		{AllHeartbeats, true},
		{EventKey, true},
		{AllTelemetry, false},
	}
	for _, tt := range sub {
		if got := b.MaySubscribe(tt.p); got != tt.want {
			t.Errorf("device pi-b MaySubscribe(%q) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if !b.MayConsume(DispatchQueue("pi-b")) || b.MayConsume(DispatchQueue("pi-a")) || b.MayConsume(StatusQueue) {
		t.Errorf("device pi-b consumes: own %v, A's %v, status %v; want true, false, false",
			b.MayConsume(DispatchQueue("pi-b")), b.MayConsume(DispatchQueue("pi-a")), b.MayConsume(StatusQueue))
	}
	if !b.MayBind(DispatchKey("pi-b")) || b.MayBind(DispatchKey("pi-a")) {
		t.Errorf("device pi-b binds its own dispatch key %v and A's %v; want true, false", b.MayBind(DispatchKey("pi-b")), b.MayBind(DispatchKey("pi-a")))
	}
	if !b.MayRead(StatusQueue) || b.MayManage(StatusQueue) || b.MayManage(DispatchQueue("pi-b")) {
		t.Errorf("device pi-b: reads status %v, manages status %v, manages its queue %v; want true, false, false",
			b.MayRead(StatusQueue), b.MayManage(StatusQueue), b.MayManage(DispatchQueue("pi-b")))
	}
	// A name with dots or wildcards stays one word: it cannot widen the policy.
	w := PolicyFor(Principal{Role: RoleDevice, Workspace: "w", Device: "*"})
	if w.MayPublish(StatusKey("e", "pi-a")) {
		t.Errorf("a device named * may publish pi-a's status")
	}
}

func TestServerAndViewerPolicy(t *testing.T) {
	s := PolicyFor(Principal{Role: RoleServer})
	if !s.MayPublish(DispatchKey("a")) || !s.MaySubscribe("#") || !s.MayManage("anything") {
		t.Errorf("a server may not do everything")
	}
	scoped := PolicyFor(Principal{Role: RoleServer, Workspace: "w", Queues: []string{"work"}})
	if !scoped.MayManage("work") || scoped.MayManage("other") {
		t.Errorf("a scoped server manages work %v, other %v; want true, false", scoped.MayManage("work"), scoped.MayManage("other"))
	}
	v := PolicyFor(Principal{Role: RoleViewer, Workspace: "w"})
	if v.MayPublish(StatusKey("e", "d")) || v.MaySubscribe("job.*.d.io.input.v1") || v.MayConsume(DispatchQueue("d")) {
		t.Errorf("a viewer may act as a device")
	}
	if !v.MayPublish(InputKey("e", "d")) || !v.MaySubscribe(OutputKey("e", "d")) {
		t.Errorf("a viewer may not watch or type")
	}
	if n := PolicyFor(Principal{}); n.MayPublish(EventKey) || n.MaySubscribe(EventKey) || n.MayRead(StatusQueue) {
		t.Errorf("a principal without a role may do something")
	}
}

func TestParseJobKey(t *testing.T) {
	for _, tc := range []struct{ exec, device string }{{"e1", "pi-1"}, {"a.b", "pi lab/1"}, {"%", "*#>"}} {
		for _, k := range []Key{StatusKey(tc.exec, tc.device), OutputKey(tc.exec, tc.device), ReplayKey(tc.exec, tc.device, "v.1")} {
			j, ok := ParseJobKey(k)
			if !ok || j.Exec != tc.exec || j.Device != tc.device {
				t.Errorf("ParseJobKey(%q) = %+v, %v; want %q, %q", k, j, ok, tc.exec, tc.device)
			}
		}
	}
	if j, _ := ParseJobKey(StatusKey("e", "d")); j.Rest != "status.v1" {
		t.Errorf("Rest = %q, want status.v1", j.Rest)
	}
	for _, k := range []Key{"", "job", "job.e.d", "device.d.dispatch.v1", "job.%.d.status.v1", "job.e.%4.status.v1", "job.e.%ZZ.status.v1"} {
		if j, ok := ParseJobKey(k); ok {
			t.Errorf("ParseJobKey(%q) = %+v, want not ok", k, j)
		}
	}
	if d, ok := ParseHeartbeatKey(HeartbeatKey("pi.1")); !ok || d != "pi.1" {
		t.Errorf("ParseHeartbeatKey = %q, %v", d, ok)
	}
	if _, ok := ParseHeartbeatKey("daemon.heartbeat.v1"); ok {
		t.Errorf("the old shared heartbeat key parsed")
	}
}

func FuzzUnword(f *testing.F) {
	for _, s := range []string{"", "pi-1", "a.b", "%", "%2E", "x y*#>", "\x1b]0;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Unword(Word(s))
		if err != nil || got != s {
			t.Fatalf("Unword(Word(%q)) = %q, %v", s, got, err)
		}
		if strings.ContainsAny(Word(s), ".*#> ") {
			t.Fatalf("Word(%q) = %q is not one word", s, Word(s))
		}
		_, _ = Unword(s) // arbitrary input never panics
		_, _ = ParseJobKey(Key("job." + s + ".d.status.v1"))
	})
}
