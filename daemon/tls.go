package daemon

import (
	"fmt"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/tlspin"
)

// brokerError says why the broker could not be joined, in the person's
// terms when its certificate was refused: no use trying again.
func brokerError(broker string, err error) error {
	if r := tlspin.Refusal(err); r != "" {
		return runlet.Errorf(runlet.EUNAUTHORIZED, "not connecting to the broker %s: %s", broker, r)
	}
	return fmt.Errorf("daemon: connect to the broker: %w", err)
}
