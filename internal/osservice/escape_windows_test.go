package osservice

import (
	"syscall"
	"testing"
)

// The command line rendered for the golden files is the one CreateService
// builds with syscall.EscapeArg.
func TestEscapeArgIsSyscalls(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", `C:\Program Files\x`, `say "hi"`, `dir\ `, `end\`, `a b\`, `a\"b`, "tab\there", `\\server\share\a b`} {
		if got, want := escapeArg(s), syscall.EscapeArg(s); got != want {
			t.Errorf("escapeArg(%q) = %s; syscall.EscapeArg says %s", s, got, want)
		}
	}
}
