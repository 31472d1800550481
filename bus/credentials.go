package bus

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/runlet/runlet/internal/redact"
)

// ErrURL is the error of WithCredentials and WithoutCredentials for a
// broker URL they cannot read.
var ErrURL = errors.New("bus: not a broker URL (want scheme://host:port, or a comma-separated list of them)")

// WithCredentials puts user and password into every server of urls, one
// broker URL or a comma-separated list of them (as NATS takes), in place of
// any user and password a server had: a device's broker URL is the
// server's, without credentials, plus the device's own. It returns urls as
// it is when user is empty. Errors wrap ErrURL and show no password.
func WithCredentials(urls, user, password string) (string, error) {
	if user == "" {
		return urls, nil
	}
	return eachServer(urls, url.UserPassword(user, password))
}

// WithoutCredentials removes the user and password of every server of
// urls: the broker address the server may show and hand to devices, which
// sign in with their own. Errors wrap ErrURL and show no password.
func WithoutCredentials(urls string) (string, error) {
	return eachServer(urls, nil)
}

// eachServer sets the userinfo of every server of urls to info (none when
// nil). A ',' in the userinfo is escaped, as NATS splits its list at every
// comma; net/url leaves it as it is.
func eachServer(urls string, info *url.Userinfo) (string, error) {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil || u.Scheme == "" || u.Host == "" {
			// Not err itself: url.Parse quotes the URL, password and all.
			return "", fmt.Errorf("%w: %s", ErrURL, redact.URL(urls))
		}
		u.User = nil
		parts[i] = u.String()
		if info != nil {
			userinfo := strings.ReplaceAll(info.String(), ",", "%2C")
			parts[i] = u.Scheme + "://" + userinfo + "@" + strings.TrimPrefix(parts[i], u.Scheme+"://")
		}
	}
	return strings.Join(parts, ","), nil
}
