package redact

import (
	"net/url"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		// Nothing to hide.
		{"", ""},
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"amqp://runlet@rabbit:5672/ws", "amqp://runlet@rabbit:5672/ws"},
		{"sqlite:/var/lib/runlet/runlet.db", "sqlite:/var/lib/runlet/runlet.db"},
		{"not a url", "not a url"},
		// A password, well formed.
		{"amqp://runlet:s3cret@rabbit:5672/ws", "amqp://runlet:xxxxx@rabbit:5672/ws"},
		{"amqps://runlet:p%2Fw%40x@rabbit/%2F", "amqps://runlet:xxxxx@rabbit/%2F"},
		{"nats://:s3cret@h:4222", "nats://:xxxxx@h:4222"},
		{"postgres://app:s3cret@db/runlet?sslmode=disable", "postgres://app:xxxxx@db/runlet?sslmode=disable"},
		{"postgres://db/runlet?password=s3cret&sslmode=disable", "postgres://db/runlet?password=xxxxx&sslmode=disable"},
		{"postgres://db/runlet?sslmode=verify-full&SSLPassword=s3cret", "postgres://db/runlet?sslmode=verify-full&SSLPassword=xxxxx"},
		{"postgres://app:pw@db/x?password=p@ss", "postgres://app:xxxxx@db/x?password=xxxxx"},
		// A list of servers: each one's password.
		{"nats://d:p1@a:4222,nats://d:p2@b:4222", "nats://d:xxxxx@a:4222,nats://d:xxxxx@b:4222"},
		{"nats://d:p1@a:4222, tls://d:p2@b:4222", "nats://d:xxxxx@a:4222, tls://d:xxxxx@b:4222"},
		{"nats://a:4222,nats://d:p2@b:4222", "nats://a:4222,nats://d:xxxxx@b:4222"},
		// What url.Parse refuses or misreads: hidden all the same.
		{"amqp://u:pa/ss@host:5672", "amqp://u:xxxxx@host:5672"},
		{"amqp://u:123/x@host", "amqp://u:xxxxx@host"},
		{"nats://u:p#x@h:4222", "nats://u:xxxxx@h:4222"},
		{"nats://u:p w@h", "nats://u:xxxxx@h"},
		{"amqp://u:p%zz@h", "amqp://u:xxxxx@h"},
		{"amqp://u:p@ss:w@rd@h/vh", "amqp://u:xxxxx@h/vh"},
		{"amqp://me@corp:pw@h", "amqp://me@corp:xxxxx@h"},
		{"amqp://u:a,b@h", "amqp://u:xxxxx@h"},
		{"amqp://u:a://b@h", "amqp://u:xxxxx@h"},
		{"mqtt://u:secret@host:1883", "mqtt://u:xxxxx@host:1883"},
		{"u:secret@host:4222", "u:xxxxx@host:4222"},
		{"nats://u:p1@a,u:p2@b", "nats://u:xxxxx@b"},
		{"://u:secret@h", ":xxxxx@h"},
		{"0:pa@://", "0:xxxxx@://"},
		{"u:pa://ss@h", "u:xxxxx@h"},
		{"@", "@"},
		{":@", ":xxxxx@"},
	} {
		if got := URL(tc.raw); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

// A URL that parses is redacted as net/url does it, mask included.
func TestURLAgreesWithNetURL(t *testing.T) {
	for _, raw := range []string{
		"amqp://runlet:s3cret@rabbit:5672/ws",
		"nats://dev-1:p%40ss@10.0.0.2:4222",
		"https://admin:pw@rabbit:15672",
		"amqp://runlet@rabbit:5672/ws",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := URL(raw), u.Redacted(); got != want {
			t.Errorf("URL(%q) = %q, net/url says %q", raw, got, want)
		}
	}
}

// FuzzURL: whatever surrounds it and whatever it holds, a password between
// "user:" and "@host" is not shown.
func FuzzURL(f *testing.F) {
	f.Add("amqp", "runlet", "", "rabbit:5672/ws")
	f.Add("nats", "d", "/x#y z", "a:4222,nats://b:4222")
	f.Add("", "u", "@:@", "h")
	f.Add("postgres", "app", "%zz", "db/x?sslmode=disable")
	f.Fuzz(func(t *testing.T, scheme, user, middle, host string) {
		const head, tail = "P9Q", "Z7W" // the password's ends
		pass := head + middle + tail
		raw := user + ":" + pass + "@" + host
		if scheme != "" {
			raw = scheme + "://" + raw
		}
		rest := scheme + user + middle + host
		if strings.Contains(rest, head[:2]) || strings.Contains(rest, tail[1:]) ||
			strings.Contains(strings.ToLower(raw), "password=") ||
			strings.Contains(middle, ",") {
			t.Skip("the password is ambiguous or its ends appear elsewhere")
		}
		got := URL(raw)
		if strings.Contains(got, head[:2]) || strings.Contains(got, tail[1:]) {
			t.Errorf("URL(%q) = %q shows the password", raw, got)
		}
	})
}
