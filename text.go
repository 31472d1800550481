package runlet

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text from another party (a device's heartbeat, an invited e-mail, a
// workspace or job name, a server's error message) must not reach a
// terminal raw: ESC]0;…BEL retitles the window, ESC[2J clears it, a CR
// overwrites a line, a bidi override reorders what is shown. The rule has
// one owner, here: CheckText refuses such text where it comes in, and
// SafeText and SafeLines escape it where it goes out (both, because stored
// data may predate the check, and a server may lie).
//
// What counts as unsafe: C0 controls (U+0000–U+001F, including TAB, LF and
// CR), DEL, C1 controls (U+0080–U+009F, which some terminals obey as
// ESC-sequences), the bidi controls (U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069), the line and paragraph separators
// U+2028 and U+2029, and bytes that are not UTF-8.
//
// The escapes are Go's: \t \n \r and the other single-letter ones, \x1b
// for another ASCII control or DEL, \u0085 for another rune, \xff for a
// byte that is not UTF-8. A backslash is left as it is, so SafeText is
// idempotent but not reversible: it makes text safe to show, not to parse.

// unsafeRune reports whether r must not reach a terminal as it is.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true // bidi controls
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// SafeText returns s with everything unsafe for a terminal escaped, on one
// line: use it for a name, an e-mail, a table cell. s itself comes back
// (no copy) when it is already safe.
func SafeText(s string) string { return safe(s, false) }

// SafeLines is SafeText for text of several lines, such as an error
// message or a job file: LF, TAB and CRLF stay, everything else unsafe is
// escaped (a lone CR too, which would let text overwrite its own line on
// screen).
func SafeLines(s string) string { return safe(s, true) }

func safe(s string, lines bool) string {
	i := firstUnsafe(s, lines)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1: // not UTF-8 (a real U+FFFD has n == 3)
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case lines && lineSafe(s, i, r):
			b.WriteRune(r)
		case unsafeRune(r):
			b.WriteString(escapeRune(r))
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// firstUnsafe is the byte offset of the first unsafe rune or byte in s,
// or -1.
func firstUnsafe(s string, lines bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f { // the usual case, one byte at a time
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || unsafeRune(r) && !(lines && lineSafe(s, i, r)) {
			return i
		}
		i += n
	}
	return -1
}

// lineSafe reports whether the control r at s[i] is one SafeLines keeps:
// LF, TAB, and a CR that ends a line before its LF (CRLF text).
func lineSafe(s string, i int, r rune) bool {
	return r == '\n' || r == '\t' || r == '\r' && i+1 < len(s) && s[i+1] == '\n'
}

func escapeRune(r rune) string {
	switch r {
	case '\a':
		return `\a`
	case '\b':
		return `\b`
	case '\f':
		return `\f`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case '\v':
		return `\v`
	}
	if r < 0x80 {
		return fmt.Sprintf(`\x%02x`, r)
	}
	return fmt.Sprintf(`\u%04x`, r)
}

// CheckText refuses a value of a single-line text field (an e-mail, a
// name, a device's OS) that holds anything SafeText would escape, or that
// is longer than max characters (runes); max <= 0 means no limit. field
// names it for the person who reads the error, e.g. "The e-mail". The
// error is EINVALID.
func CheckText(field, s string, max int) error {
	if max > 0 && utf8.RuneCountInString(s) > max {
		return Errorf(EINVALID, "%s is too long: at most %d characters.", field, max)
	}
	if i := firstUnsafe(s, false); i >= 0 {
		r, n := utf8.DecodeRuneInString(s[i:])
		what := "a control character"
		if r == utf8.RuneError && n == 1 {
			what = "a byte that is not UTF-8"
		} else if !unicode.IsControl(r) {
			what = "a formatting character"
		}
		return Errorf(EINVALID, "%s may not contain %s (%s at byte %d): use printable text.", field, what, SafeText(s[i:i+n]), i)
	}
	return nil
}
