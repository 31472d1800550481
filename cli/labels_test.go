package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestLabelsTargetRuns: labels given at sign-in and changed by an admin
// pick the devices of a run (--on label:KEY, patterns); every bad label
// or selector is refused with a sentence, and nothing runs.
func TestLabelsTargetRuns(t *testing.T) {
	f := startFleet(t)
	f.device("pi-1")
	f.device("pi-2")
	mac := f.signin("mac")
	admin := map[string]string{"RUNLET_PASSWORD": adminPassword, "RUNLET_ADMIN": "admin@localhost"}

	// At sign-in: a new home with labels, and one whose labels are bad.
	tok, err := f.srv.EnrollToken()
	if err != nil {
		t.Fatal(err)
	}
	lab := filepath.Join(t.TempDir(), "lab")
	if r := runIn(t, lab, "", "@signin", "--server", f.url, "--name", "lab-box", "--token", tok, "--label", "lab,room=attic", "--label", "gpu"); r.code != 0 {
		t.Fatalf("signin with labels: exit %d\n%s%s", r.code, r.out, r.err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	if r := runIn(t, bad, "", "@signin", "--server", f.url, "--name", "bad-box", "--token", tok, "--label", "room=a b"); r.code == 0 || !strings.Contains(r.err, `The label "room=a b"`) {
		t.Errorf("signin with a bad label: exit %d %q", r.code, r.err)
	}
	r := runIn(t, mac, "", "devices")
	if r.code != 0 || !strings.Contains(r.out, "LABELS") || !strings.Contains(r.out, "gpu,lab,room=attic") || strings.Contains(r.out, "bad-box") {
		t.Fatalf("devices after the sign-ins: exit %d\n%s%s", r.code, r.out, r.err)
	}

	// An admin labels pi-1 and pi-2; removes one again.
	if r := runEnv(t, mac, "", admin, "devices", "label", "pi-1", "lab", "room=cellar"); r.code != 0 || !strings.Contains(r.out, "pi-1: lab,room=cellar") {
		t.Fatalf("devices label pi-1: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := runEnv(t, mac, "", admin, "devices", "label", "pi-2", "lab", "old"); r.code != 0 {
		t.Fatalf("devices label pi-2: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := runEnv(t, mac, "", admin, "devices", "label", "pi-2", "old-"); r.code != 0 || !strings.Contains(r.out, "pi-2: lab") || strings.Contains(r.out, "old") {
		t.Fatalf("devices label pi-2 old-: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := runIn(t, mac, "", "devices", "label", "pi-2"); r.code != 0 || r.out != "pi-2: lab\n" {
		t.Errorf("showing pi-2's labels: exit %d %q", r.code, r.out)
	}
	for _, c := range []struct {
		what string
		env  map[string]string
		args []string
		says string
	}{
		{"a bad label", admin, []string{"pi-1", "-x"}, "unknown shorthand flag"},
		{"a bad value", admin, []string{"pi-1", "k=a b"}, `The label "k=a b"`},
		{"an unknown device", admin, []string{"ghost", "lab"}, `no device named "ghost"`},
		{"a wrong password", map[string]string{"RUNLET_PASSWORD": "nope", "RUNLET_ADMIN": "admin@localhost"}, []string{"pi-1", "x"}, "Wrong email or password"},
		{"no admin", nil, []string{"pi-1", "x"}, "changing a device's labels needs a workspace admin"},
	} {
		if r := runEnv(t, mac, "", c.env, append([]string{"devices", "label"}, c.args...)...); r.code == 0 || !strings.Contains(r.err, c.says) {
			t.Errorf("devices label with %s: exit %d %q, want it to say %q", c.what, r.code, r.err, c.says)
		}
	}
	if r := runIn(t, mac, "", "devices", "label", "pi-1"); r.out != "pi-1: lab,room=cellar\n" {
		t.Errorf("pi-1's labels after the refusals: %q", r.out)
	}

	// Runs by label and by pattern. lab-box has no daemon: its target
	// stays Pending, so the run is detached.
	applyJobs(t, mac, "where:\n  script: echo \"on $RUNLET_DEVICE\"\n")
	r = runIn(t, mac, "", "@run", "where", "--on", "label:room=cellar")
	if r.code != 0 || !strings.Contains(r.out, "on pi-1") || strings.Contains(r.out, "on pi-2") {
		t.Errorf("@run --on label:room=cellar: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runIn(t, mac, "", "@run", "where", "--on", "pi-*")
	if r.code != 0 || !strings.Contains(r.out, "on pi-1") || !strings.Contains(r.out, "on pi-2") {
		t.Errorf("@run --on pi-*: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runIn(t, mac, "", "@run", "where", "--detach", "--on", "label:lab")
	if r.code != 0 || !strings.Contains(r.out+r.err, "lab-box") || !strings.Contains(r.out+r.err, "pi-1") || !strings.Contains(r.out+r.err, "pi-2") {
		t.Errorf("@run --on label:lab: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runIn(t, mac, "", "@run", "where", "--on", "nas-*")
	if r.code == 0 || !strings.Contains(r.err, "No device matches nas-*") {
		t.Errorf("@run --on nas-*: exit %d %q", r.code, r.err)
	}
}
