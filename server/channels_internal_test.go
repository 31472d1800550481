package server

import (
	"regexp"
	"testing"

	"github.com/runlet/runlet"
)

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

func TestPhoneNumber(t *testing.T) {
	for in, want := range map[string]string{
		"+441234567890":      "+441234567890",
		"+44 1234 567890":    "+441234567890",
		"+1 (555) 123-4567":  "+15551234567",
		"+33.1.23.45.67.89":  "+33123456789",
		"+123456789012345":   "+123456789012345",
		"441234567890":       "",
		"+0441234567890":     "",
		"+4412":              "",
		"+1234567890123456":  "",
		"+44 1234 56789O":    "",
		"++441234567890":     "",
		"+44\n1234567890":    "",
		"tel:+441234567890":  "",
		"+44 1234 567890 x2": "",
	} {
		got, err := phoneNumber(in)
		if want == "" {
			if runlet.ErrorCode(err) != runlet.EINVALID {
				t.Errorf("phoneNumber(%q) = %q, %v; want invalid", in, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("phoneNumber(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzPhoneNumber: whatever it is given, what phoneNumber takes is E.164
// and taken again unchanged.
func FuzzPhoneNumber(f *testing.F) {
	for _, s := range []string{"+441234567890", "+1 (555) 123-4567", "+0", "", "+", "++1", "+44 1234\u00a0567890"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := phoneNumber(in)
		if err != nil {
			return
		}
		if !e164.MatchString(got) {
			t.Fatalf("phoneNumber(%q) = %q, not E.164", in, got)
		}
		if again, err := phoneNumber(got); err != nil || again != got {
			t.Fatalf("phoneNumber(%q) = %q, %v; want it unchanged", got, again, err)
		}
	})
}

func TestHeaderName(t *testing.T) {
	for in, want := range map[string]bool{
		"X-Api-Key": true, "Authorization": true, "x_y.z~1": true,
		"": false, "Bad Name": false, "A:B": false, "X-\r\nY": false, "Ä": false,
	} {
		if got := headerName(in); got != want {
			t.Errorf("headerName(%q) = %v, want %v", in, got, want)
		}
	}
}
