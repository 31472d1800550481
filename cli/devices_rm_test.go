package cli_test

import (
	"strings"
	"testing"
)

// TestDevicesRemove: `runlet devices rm NAME` removes a device as an admin
// and the device is cut; every way it can go wrong says what to do, and
// removes nothing.
func TestDevicesRemove(t *testing.T) {
	f := startFleet(t)
	mac := f.signin("mac")
	pi := f.signin("pi-2")
	admin := map[string]string{"RUNLET_PASSWORD": adminPassword}

	for _, c := range []struct {
		what string
		env  map[string]string
		args []string
		code int
		says []string
	}{
		{"not at a terminal, without --yes", admin, []string{"pi-2", "--admin", "admin@localhost"}, 2, []string{"not at a terminal", "--yes"}},
		{"without an admin", admin, []string{"pi-2", "--yes"}, 2, []string{"needs a workspace admin", "--admin EMAIL", "RUNLET_PASSWORD"}},
		{"without a password", nil, []string{"pi-2", "--yes", "--admin", "admin@localhost"}, 2, []string{"no password for admin@localhost", "RUNLET_PASSWORD"}},
		{"with a wrong password", map[string]string{"RUNLET_PASSWORD": "not the password"}, []string{"pi-2", "--yes", "--admin", "admin@localhost"}, 1, []string{"Wrong email or password"}},
		{"of an unknown device", admin, []string{"ghost", "--yes", "--admin", "admin@localhost"}, 1, []string{`no device named "ghost"`, "mac, pi-2"}},
		{"of this very device", admin, []string{"mac", "--yes", "--admin", "admin@localhost"}, 2, []string{"mac is this device", "runlet @signout"}},
	} {
		r := runEnv(t, mac, "", c.env, append([]string{"devices", "rm"}, c.args...)...)
		if r.code != c.code {
			t.Errorf("%s: exit %d, want %d\n%s%s", c.what, r.code, c.code, r.out, r.err)
		}
		for _, s := range c.says {
			if !strings.Contains(r.err, s) {
				t.Errorf("%s: %q does not say %q", c.what, r.err, s)
			}
		}
	}
	if r := runIn(t, pi, "", "devices"); r.code != 0 {
		t.Fatalf("pi-2 after the refused removals: exit %d %s", r.code, r.err)
	}

	r := runEnv(t, mac, "", map[string]string{"RUNLET_PASSWORD": adminPassword, "RUNLET_ADMIN": "admin@localhost"}, "devices", "rm", "pi-2", "--yes")
	if r.code != 0 || !strings.Contains(r.out, "Removed pi-2") {
		t.Fatalf("devices rm pi-2: exit %d\n%s%s", r.code, r.out, r.err)
	}
	// pi-2 is cut: its next call is refused and says how to come back.
	if r := runIn(t, pi, "", "devices"); r.code == 0 || !strings.Contains(r.err, "revoked") || !strings.Contains(r.err, "@signin") {
		t.Errorf("pi-2 after its removal: exit %d %q, want a refusal naming @signin", r.code, r.err)
	}
	r = runIn(t, mac, "", "devices")
	if r.code != 0 || strings.Contains(r.out, "pi-2") || !strings.Contains(r.out, "mac") {
		t.Errorf("devices after the removal: exit %d\n%s%s", r.code, r.out, r.err)
	}
}
