package sim

import (
	"fmt"
	"time"
)

// FaultKind is a fault the seed's scripts inject (seed §8.1): the driver
// of a test or benchmark knows how to cause each on its stack.
type FaultKind string

// The faults.
const (
	// BrokerRestarted: the broker stopped and started again at once.
	BrokerRestarted FaultKind = "broker-restarted"
	// BrokerStopped: the broker unreachable for Fault.For, then back.
	BrokerStopped FaultKind = "broker-stopped"
	// ServerKilled: the server killed (SIGKILL) and started again. With
	// the embedded broker, the broker goes with it.
	ServerKilled FaultKind = "server-killed"
	// GatewayKilled: a gateway's daemon killed (SIGKILL) and started
	// again.
	GatewayKilled FaultKind = "gateway-killed"
	// GatewayStopped: a gateway's daemon stopped for Fault.For while its
	// sensors keep sending (the driver keeps what they send and feeds it
	// once the gateway is back, as a sensor that retries does).
	GatewayStopped FaultKind = "gateway-stopped"
	// GatewayWrongCredentials: a gateway whose broker credentials are
	// wrong: the broker refuses it and nothing it relays is stored until
	// it has the right ones again.
	GatewayWrongCredentials FaultKind = "gateway-wrong-credentials"
)

// Fault is one fault of a script: what, before which round of the plan,
// for how long (for the faults that last), and on which gateway (for the
// gateway's faults).
type Fault struct {
	Kind    FaultKind
	Before  int
	For     time.Duration
	Gateway int
}

func (f Fault) String() string {
	s := fmt.Sprintf("%s before round %d", f.Kind, f.Before)
	if f.For > 0 {
		s += fmt.Sprintf(" for %s", f.For)
	}
	switch f.Kind {
	case GatewayKilled, GatewayStopped, GatewayWrongCredentials:
		s += fmt.Sprintf(" on gateway %d", f.Gateway)
	}
	return s
}

// Script is the faults of a run, in the order of their rounds.
type Script []Fault

// At returns the faults to inject before round r.
func (s Script) At(r int) []Fault {
	var out []Fault
	for _, f := range s {
		if f.Before == r {
			out = append(out, f)
		}
	}
	return out
}

// Midway returns a script of one fault of kind k injected halfway through
// p, lasting d, on gateway 0: the shape of the end-to-end fault tests.
func (p *Plan) Midway(k FaultKind, d time.Duration) Script {
	return Script{{Kind: k, Before: len(p.Rounds) / 2, For: d}}
}
