// Package redact hides the passwords of URLs before they reach a log, an
// error or a terminal: broker URLs (one or a comma-separated NATS list),
// database URLs, RabbitMQ management URLs. It is the one owner of that
// rule and its mask, so every message shows a hidden password the same
// way, as "xxxxx" (the mask of net/url's URL.Redacted, nats.go and pgx).
package redact

import (
	"strings"
)

// Mask replaces a password.
const Mask = "xxxxx"

// URL returns raw with every password in it replaced by Mask: the password
// of each server's userinfo ("nats://dev:xxxxx@host:4222") and the value of
// a password or sslpassword query parameter (PostgreSQL accepts both). User
// names and hosts are kept, for the reader.
//
// It works on the text, not on what url.Parse makes of it, because the URLs
// that end up in error messages are often the ones that do not parse (a
// password with an unescaped '/', '#' or space), and because url.Parse
// reads a NATS server list as one URL. Where the text is ambiguous it errs
// towards hiding: a server's userinfo runs to its last '@', so a stray '@'
// in a path hides that part of the path too. A server list is split only
// at a comma followed by "scheme://".
func URL(raw string) string {
	var b strings.Builder
	b.Grow(len(raw))
	for _, s := range servers(raw) {
		b.WriteString(server(s))
	}
	return b.String()
}

// servers splits a comma-separated list of URLs, each part keeping its
// comma, so that joining them gives raw back.
func servers(raw string) []string {
	var out []string
	start := 0
	for i := 0; i < len(raw); i++ {
		if raw[i] == ',' && startsURL(raw[i+1:]) {
			out = append(out, raw[start:i])
			start = i
		}
	}
	return append(out, raw[start:])
}

// startsURL reports whether s begins, after blanks, with "scheme://".
func startsURL(s string) bool { return authority(s) > 0 }

// authority is where the authority of URL s begins: after its "scheme://"
// (leading blanks and a list's comma allowed), or 0 when s does not begin
// with one. A "://" after anything but a scheme is no separator: in
// "u:pa://ss@h" it is part of the password.
func authority(s string) int {
	rest := strings.TrimLeft(s, ", \t")
	scheme, _, ok := strings.Cut(rest, "://")
	if !ok || scheme == "" {
		return 0
	}
	for i := range len(scheme) {
		switch c := scheme[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return 0
		}
	}
	return len(s) - len(rest) + len(scheme) + len("://")
}

// server redacts one URL of a list. The query comes first, as a '@' in a
// password parameter would otherwise be taken for the end of the userinfo.
func server(s string) string {
	s = queryPasswords(s)
	start := authority(s)
	at := strings.LastIndex(s, "@")
	if at < start {
		return s
	}
	user, _, hasPassword := strings.Cut(s[start:at], ":")
	if !hasPassword {
		return s
	}
	return s[:start] + user + ":" + Mask + s[at:]
}

// queryPasswords masks the values of password and sslpassword parameters.
func queryPasswords(s string) string {
	q := strings.IndexByte(s, '?')
	if q < 0 {
		return s
	}
	params := strings.Split(s[q+1:], "&")
	for i, p := range params {
		key, _, ok := strings.Cut(p, "=")
		if k := strings.ToLower(key); ok && (k == "password" || k == "sslpassword") {
			params[i] = key + "=" + Mask
		}
	}
	return s[:q+1] + strings.Join(params, "&")
}
