package bus

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestWithCredentials(t *testing.T) {
	for _, tc := range []struct {
		urls, user, pass, want string
	}{
		{"nats://10.0.0.2:4322", "dev1", "s3cret", "nats://dev1:s3cret@10.0.0.2:4322"},
		{"amqps://rabbit:5671/ws", "dev1", "s3cret", "amqps://dev1:s3cret@rabbit:5671/ws"},
		// Every server of a list, not only the first.
		{"nats://a:4322,nats://b:4322", "d", "p", "nats://d:p@a:4322,nats://d:p@b:4322"},
		{"nats://a:4322, tls://b:4322 ,nats://c", "d", "p", "nats://d:p@a:4322,tls://d:p@b:4322,nats://d:p@c"},
		// The device's credentials replace any the URL had.
		{"nats://server:pw@a:4322,nats://other@b:4322", "d", "p", "nats://d:p@a:4322,nats://d:p@b:4322"},
		// Special characters, escaped; a comma too, where NATS splits its list.
		{"amqp://rabbit:5672/ws", "d", "p/w@x", "amqp://d:p%2Fw%40x@rabbit:5672/ws"},
		{"nats://a,nats://b", "d", "p,w:x?#%", "nats://d:p%2Cw%3Ax%3F%23%25@a,nats://d:p%2Cw%3Ax%3F%23%25@b"},
		{"nats://a", "dev 1", "", "nats://dev%201:@a"},
		// No user: as it is.
		{"nats://10.0.0.2:4322", "", "", "nats://10.0.0.2:4322"},
	} {
		got, err := WithCredentials(tc.urls, tc.user, tc.pass)
		if err != nil || got != tc.want {
			t.Errorf("WithCredentials(%q, %q, %q) = %q, %v; want %q", tc.urls, tc.user, tc.pass, got, err, tc.want)
			continue
		}
		// What the adapters read back is what was put in.
		for p := range strings.SplitSeq(got, ",") {
			u, err := url.Parse(p)
			if err != nil {
				t.Errorf("%q: %v", p, err)
				continue
			}
			if pw, _ := u.User.Password(); tc.user != "" && (u.User.Username() != tc.user || pw != tc.pass) {
				t.Errorf("%q reads back as %q, %q", p, u.User.Username(), pw)
			}
		}
	}
}

func TestWithCredentialsRefusesWhatIsNoURL(t *testing.T) {
	for _, urls := range []string{
		"not a url",
		"10.0.0.2:4322",
		"nats:10.0.0.2",
		"nats://",
		"nats://a:4222,",
		"nats://a:4222,,nats://b:4222",
		"nats://a:4222,b:4222",
		"amqp://u:pa/ss@rabbit:5672",
		"nats://u:p%zz@a",
		"nats://a:42x",
	} {
		got, err := WithCredentials(urls, "d", "p")
		if !errors.Is(err, ErrURL) || got != "" {
			t.Errorf("WithCredentials(%q) = %q, %v; want ErrURL", urls, got, err)
		}
		if err != nil && (strings.Contains(err.Error(), "pa/ss") || strings.Contains(err.Error(), "%zz")) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}

func TestWithoutCredentials(t *testing.T) {
	for _, tc := range []struct{ urls, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"amqp://runlet:s3cret@rabbit:5672/ws", "amqp://rabbit:5672/ws"},
		{"nats://s:p1@a:4222,nats://s:p2@b:4222", "nats://a:4222,nats://b:4222"},
		{"nats://token@a:4222", "nats://a:4222"},
	} {
		got, err := WithoutCredentials(tc.urls)
		if err != nil || got != tc.want {
			t.Errorf("WithoutCredentials(%q) = %q, %v; want %q", tc.urls, got, err, tc.want)
		}
	}
	if got, err := WithoutCredentials("amqp://runlet:pa/ss@rabbit"); !errors.Is(err, ErrURL) || strings.Contains(err.Error(), "pa/ss") {
		t.Errorf("an unreadable URL: %q, %v; want ErrURL without the password", got, err)
	}
}
