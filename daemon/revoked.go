package daemon

import (
	"context"
	"net/http"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/tlspin"
)

// errSignedOut ends a daemon whose credentials the server revoked.
var errSignedOut = runlet.Errorf(runlet.EUNAUTHORIZED,
	"this device was signed out or removed on the server, so its credentials no longer work; run `runlet @signin` to sign it in again")

// refusedByBroker is bus.Options.OnRefused: the broker refused the
// credentials on a reconnect. It only wakes serve, which asks the server.
func (d *Daemon) refusedByBroker(error) {
	select {
	case d.refused <- struct{}{}:
	default:
	}
}

// revoked asks the API whether the device's credentials still work: the
// broker also refuses when it cannot reach the server that checks them,
// which is no reason to stop.
func (d *Daemon) revoked(ctx context.Context) bool {
	c := apiclient.FromCredentials(d.creds)
	if cfg := tlspin.Config(d.creds.ServerFingerprint, d.cfg.RootCAs); cfg != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg
		c.HTTP = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := c.Whoami(ctx)
	return runlet.ErrorCode(err) == runlet.EUNAUTHORIZED
}
