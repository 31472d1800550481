package cli

import "testing"

func TestEscaper(t *testing.T) {
	for _, c := range []struct {
		name   string
		typed  []string // successive reads
		send   string
		detach bool
	}{
		{"detach at the first key", []string{"~."}, "", true},
		{"detach after Enter", []string{"ls\r~.rest"}, "ls\r", true},
		{"detach across reads", []string{"y\r", "~", "."}, "y\r", true},
		{"tilde mid-line is sent", []string{"a~.b"}, "a~.b", false},
		{"double tilde sends one", []string{"~~."}, "~.", false},
		{"tilde then another key", []string{"~x\r"}, "~x\r", false},
		{"newline starts a line too", []string{"a\n~."}, "a\n", true},
		{"tilde held until the next read", []string{"\r~"}, "\r", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var e escaper
			var got []byte
			detached := false
			for _, r := range c.typed {
				send, d := e.filter([]byte(r))
				got = append(got, send...)
				if d {
					detached = true
					break
				}
			}
			if string(got) != c.send || detached != c.detach {
				t.Errorf("typed %q: sent %q detach=%v, want %q detach=%v", c.typed, got, detached, c.send, c.detach)
			}
		})
	}
}
