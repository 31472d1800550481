package runlet_test

import (
	"strings"
	"testing"

	"github.com/runlet/runlet"
)

var fleet = []runlet.Device{
	{Name: "pi-1", Labels: map[string]string{"lab": "", "room": "attic"}},
	{Name: "pi-2", Labels: map[string]string{"lab": "", "room": "cellar"}},
	{Name: "mac"},
}

func TestSelect(t *testing.T) {
	for _, c := range []struct {
		on   []string
		want string // the names, or the start of the error
	}{
		{[]string{"pi-1"}, "pi-1"},
		{[]string{"pi-2,pi-1", " mac "}, "pi-2,pi-1,mac"},
		{[]string{"pi-*"}, "pi-1,pi-2"},
		{[]string{"pi-?", "pi-1"}, "pi-1,pi-2"},
		{[]string{"label:lab"}, "pi-1,pi-2"},
		{[]string{"label:room=cellar"}, "pi-2"},
		{[]string{"label:room"}, "pi-1,pi-2"},
		{[]string{"*"}, "pi-1,pi-2,mac"},
		{[]string{"", ","}, ""},
		{[]string{"pi-3"}, "Unknown device pi-3; the devices of this workspace are: pi-1, pi-2, mac."},
		{[]string{"nas-*", "label:gpu"}, "No device matches nas-*, label:gpu; the devices"},
		{[]string{"pi-[1"}, `The device pattern "pi-[1" is malformed`},
		{[]string{"label:"}, `The device selector "label:": a label's key has 1 to 63 characters`},
		{[]string{"label:room=a b"}, `The device selector "label:room=a b": a label's value has letters`},
	} {
		got, err := runlet.Select(c.on, fleet)
		if err != nil {
			if runlet.ErrorCode(err) != runlet.EINVALID || !strings.HasPrefix(err.Error(), c.want) || c.want == "" {
				t.Errorf("Select(%q): %v, want %q", c.on, err, c.want)
			}
			continue
		}
		if strings.Join(got, ",") != c.want {
			t.Errorf("Select(%q) = %q, want %q", c.on, got, c.want)
		}
	}
}

func TestLabels(t *testing.T) {
	got, err := runlet.ParseLabels([]string{"lab,floor-2", "room=attic", "Room=x"})
	if err != nil {
		t.Fatal(err)
	}
	if f := runlet.FormatLabels(got); f != "Room=x,floor-2,lab,room=attic" {
		t.Errorf("labels %q", f)
	}
	for _, bad := range []string{"-lab", "lab-", "a b", "k=v=w", "k=", strings.Repeat("x", 64), "é"} {
		if _, err := runlet.ParseLabels([]string{bad}); runlet.ErrorCode(err) != runlet.EINVALID {
			t.Errorf("label %q: %v, want EINVALID", bad, err)
		}
	}
	many := make([]string, runlet.MaxLabels+1)
	for i := range many {
		many[i] = "l" + strings.Repeat("x", i)
	}
	if _, err := runlet.ParseLabels(many); err == nil {
		t.Error("33 labels accepted")
	}
	if err := runlet.CheckLabels(map[string]string{"ok": "", "k": "v"}); err != nil {
		t.Error(err)
	}
	if err := runlet.CheckLabels(map[string]string{"k": "v w"}); err == nil {
		t.Error(`CheckLabels took "v w"`)
	}
}

// FuzzLabels: parsing never panics, and what it accepts formats and parses
// back to the same labels.
func FuzzLabels(f *testing.F) {
	for _, s := range []string{"lab,floor-2", "room=attic", "a=b,c", "=", "k=v=w", "label:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := runlet.ParseLabels([]string{s})
		if err != nil {
			return
		}
		if err := runlet.CheckLabels(l); err != nil {
			t.Fatalf("ParseLabels(%q) = %v, which CheckLabels refuses: %v", s, l, err)
		}
		again, err := runlet.ParseLabels([]string{runlet.FormatLabels(l)})
		if err != nil || runlet.FormatLabels(again) != runlet.FormatLabels(l) {
			t.Fatalf("round trip of %q: %v, %v", s, again, err)
		}
	})
}

// FuzzSelector: parsing never panics, and a selector that parses selects
// without panicking.
func FuzzSelector(f *testing.F) {
	for _, s := range []string{"pi-1", "pi-*", "label:lab", "label:room=attic", "[", "label:=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := runlet.ParseSelector(s)
		if err != nil {
			return
		}
		for _, d := range fleet {
			sel.Match(d)
		}
		if sel.Exact() && sel.Match(runlet.Device{Name: strings.TrimSpace(s)}) != true {
			t.Fatalf("the exact selector %q does not match its own name", s)
		}
	})
}
