package nats

import (
	"strings"

	natsgo "github.com/nats-io/nats.go"

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
// "RL-<workspace>-<queue>". Each part keeps only letters and digits and
// writes every other byte as _XX, so the name is one subject token, free of
// the characters old servers mishandle in API subjects (nats-server 2.9
// breaks on '%'), and no two (workspace, queue) pairs share it: '-' only
// ever separates.
func StreamName(ws, queue string) string {
	return "RL-" + nameWord(ws) + "-" + nameWord(queue)
}

func nameWord(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// InboxPrefix is the reply-subject prefix of a connection as user: its own,
// so that the broker can let it read its replies (JetStream API answers,
// pulled messages, publish acks) and nobody else's. "" (no user) keeps
// NATS's shared "_INBOX".
func InboxPrefix(user string) string {
	if user == "" {
		return natsgo.InboxPrefix[:len(natsgo.InboxPrefix)-1]
	}
	return "_INBOX." + nameWord(user)
}
