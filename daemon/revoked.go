package daemon

import (
	"context"
	"time"

	"github.com/runlet/runlet"
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
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := d.api().Whoami(ctx)
	return runlet.ErrorCode(err) == runlet.EUNAUTHORIZED
}
