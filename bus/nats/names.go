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

// durablePrefix is the subject prefix of a workspace's durable messages:
// "wsd.<workspace>.". Only queues' streams collect these subjects, and no
// transient subscription matches them, so that a JetStream publish that no
// stream collects gets "no responders" (bus.ErrNoQueue) even while a
// subscription matches its key. PublishDurable copies each stored message
// to its transient subject for the subscriptions.
func durablePrefix(ws string) string { return "wsd." + bus.Word(ws) + "." }

// DurableSubject translates a key or pattern of a workspace to the subject
// of its durable messages, as Subject does for transient ones.
func DurableSubject(ws string, k bus.Key) string {
	return durablePrefix(ws) + strings.TrimPrefix(Subject(ws, k), prefix(ws))
}

// PublishSubjects are the subjects a publish of key or pattern k in
// workspace ws may use, transient and durable: what a broker permission to
// publish k must allow.
func PublishSubjects(ws string, k bus.Key) []string {
	return []string{Subject(ws, k), DurableSubject(ws, k)}
}

// key recovers the key of a message from its subject, transient or
// durable.
func key(ws, subject string) bus.Key {
	if k, ok := strings.CutPrefix(subject, durablePrefix(ws)); ok {
		return bus.Key(k)
	}
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
