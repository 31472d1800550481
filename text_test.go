package runlet_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/runlet/runlet"
)

func TestSafeText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"pi-1", "pi-1"},
		{"Raspbian GNU/Linux 12 (bookworm)", "Raspbian GNU/Linux 12 (bookworm)"},
		{"Zoë 🍓 中文", "Zoë 🍓 中文"},
		{`C:\Users\x1b`, `C:\Users\x1b`}, // a backslash stays
		{"\x1b]0;pwned\x07", `\x1b]0;pwned\a`},
		{"\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"a\tb\nc\rd", `a\tb\nc\rd`},
		{"\x00\x7f", `\x00\x7f`},
		{"\u009b2J", `\u009b2J`},                         // C1 CSI
		{"\u0085", `\u0085`},                             // C1 NEL
		{"admin\u202Emoc.liame", `admin\u202emoc.liame`}, // bidi override
		{"a\u2028b", `a\u2028b`},
		{"bad \xff\xfe end", `bad \xff\xfe end`},
		{"\xe2\x82", `\xe2\x82`}, // a truncated rune
		{"\uFFFD", "\uFFFD"},     // a real replacement character is fine
	} {
		if got := runlet.SafeText(c.in); got != c.want {
			t.Errorf("SafeText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSafeLines(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"line 1\nline 2\n", "line 1\nline 2\n"},
		{"a:\tb", "a:\tb"},
		{"ok\rforged", `ok\rforged`},
		{"windows\r\nfile\r\n", "windows\r\nfile\r\n"},
		{"\r\r\n", "\\r\r\n"},
		{"x\n\x1b[31mred", "x\n\\x1b[31mred"},
	} {
		if got := runlet.SafeLines(c.in); got != c.want {
			t.Errorf("SafeLines(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCheckText(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string // "" for no error, else a part of the message
	}{
		{"ada@example.com", 254, ""},
		{"Zoë's lab", 64, ""},
		{strings.Repeat("é", 64), 64, ""}, // characters, not bytes
		{strings.Repeat("a", 65), 64, "at most 64 characters"},
		{strings.Repeat("a", 1000), 0, ""}, // no limit
		{"ada\x1b[2J@example.com", 254, `control character (\x1b at byte 3)`},
		{"ada\n@example.com", 254, `control character (\n at byte 3)`},
		{"\u009b", 10, `control character (\u009b at byte 0)`},
		{"x\u202e", 10, `formatting character (\u202e at byte 1)`},
		{"x\xff", 10, `not UTF-8 (\xff at byte 1)`},
	} {
		err := runlet.CheckText("The e-mail", c.in, c.max)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("CheckText(%q, %d) = %v, want nil", c.in, c.max, err)
		case c.want != "" && err == nil:
			t.Errorf("CheckText(%q, %d) = nil, want an error with %q", c.in, c.max, c.want)
		case c.want != "" && (runlet.ErrorCode(err) != runlet.EINVALID || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "The e-mail ")):
			t.Errorf("CheckText(%q, %d) = %v (%s), want EINVALID naming the field and saying %q", c.in, c.max, err, runlet.ErrorCode(err), c.want)
		}
		if err != nil && runlet.SafeText(err.Error()) != err.Error() {
			t.Errorf("CheckText's message %q is itself unsafe to print", err.Error())
		}
	}
}

// FuzzSafeText checks that nothing SafeText or SafeLines returns can
// drive a terminal: no C0 control (SafeLines keeps LF, TAB, CRLF), no DEL,
// no C1 or bidi control, only UTF-8; that text already safe comes back
// unchanged; and that CheckText accepts exactly what SafeText leaves alone.
func FuzzSafeText(f *testing.F) {
	for _, s := range []string{"pi-1", "\x1b]0;pwned\x07", "a\tb\r\nc", "\u009b\u202e\u2028", "\xff\xe2\x82", "Zoë 🍓", `\x1b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		one, many := runlet.SafeText(s), runlet.SafeLines(s)
		for _, c := range []struct {
			out   string
			lines bool
		}{{one, false}, {many, true}} {
			if !utf8.ValidString(c.out) {
				t.Fatalf("Safe(%q, lines=%v) = %q: not UTF-8", s, c.lines, c.out)
			}
			for i, r := range c.out {
				if c.lines && (r == '\n' || r == '\t' || r == '\r' && i+1 < len(c.out) && c.out[i+1] == '\n') {
					continue
				}
				if r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x202e || r == 0x2028 {
					t.Fatalf("Safe(%q, lines=%v) = %q: %U at byte %d", s, c.lines, c.out, r, i)
				}
			}
		}
		if runlet.SafeText(one) != one || runlet.SafeLines(many) != many {
			t.Fatalf("not idempotent on %q", s)
		}
		ok := runlet.CheckText("x", s, 0) == nil
		if ok != (one == s) {
			t.Fatalf("CheckText(%q) ok=%v but SafeText changes it: %v", s, ok, one != s)
		}
	})
}
