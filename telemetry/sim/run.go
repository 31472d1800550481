package sim

import (
	"context"
	"fmt"
)

// Driver is what runs a plan against a real system: it feeds a gateway
// a round's messages (returning once the gateway has taken them, that is
// once they are durable on the device), and injects a fault.
type Driver interface {
	Feed(ctx context.Context, gateway int, body []byte) error
	Inject(ctx context.Context, f Fault) error
}

// Run feeds p's rounds to the driver, round by round and gateway by
// gateway, injecting the script's faults before their rounds. It stops at
// the first error.
func (p *Plan) Run(ctx context.Context, d Driver, script Script) error {
	for r, round := range p.Rounds {
		for _, f := range script.At(r) {
			if err := d.Inject(ctx, f); err != nil {
				return fmt.Errorf("inject %s: %w", f, err)
			}
		}
		for g, ms := range round {
			if len(ms) == 0 {
				continue
			}
			if err := d.Feed(ctx, g, p.Body(ms)); err != nil {
				return fmt.Errorf("feed round %d to gateway %d: %w", r, g, err)
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}
