package nats

import (
	"strings"

	"github.com/runlet/runlet/bus"
)

// consumerName is the durable pull consumer every subscriber of one queue
// shares, so that they compete for its messages.
const consumerName = "runlet"

// prefix is the subject prefix of a workspace: "ws.<workspace>.".
func prefix(ws string) string { return "ws." + bus.Word(ws) + "." }

// Subject translates a key or pattern of a workspace to a NATS subject:
// the AMQP "#" becomes NATS ">"; "*" means the same in both.
func Subject(ws string, k bus.Key) string {
	s := string(k)
	if s == "#" {
		return prefix(ws) + ">"
	}
	if strings.HasSuffix(s, ".#") {
		s = s[:len(s)-1] + ">"
	}
	return prefix(ws) + s
}

// key recovers the key of a message from its subject.
func key(ws, subject string) bus.Key {
	return bus.Key(strings.TrimPrefix(subject, prefix(ws)))
}

// StreamName is the JetStream stream holding a workspace's queue:
// "RL_<workspace>_<queue>", each part escaped so that the name is one
// subject token and no two (workspace, queue) pairs share it.
func StreamName(ws, queue string) string {
	return "RL_" + nameWord(ws) + "_" + nameWord(queue)
}

func nameWord(s string) string {
	return strings.ReplaceAll(bus.Word(s), "_", "%5F")
}
