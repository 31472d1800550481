package amqp

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/runlet/runlet/bus"
)

// Names on the broker. Every name of a workspace starts with its exchange's
// name and a dot, so that one RabbitMQ permission regexp (Permission)
// confines a user to its workspaces.

// ExchangeName is the topic exchange of a workspace: "runlet." and the
// workspace escaped as one key word, so that a workspace cannot reach into
// another's names with dots.
func ExchangeName(workspace string) string { return "runlet." + bus.Word(workspace) }

// DurableExchangeName is the topic exchange of a workspace's durable
// queues, apart from the transient subscriptions' (ExchangeName) so that a
// mandatory publish to it is returned when no durable queue matches, even
// if a transient subscription does. PublishDurable copies what a durable
// queue stored to ExchangeName for the subscriptions.
func DurableExchangeName(workspace string) string { return ExchangeName(workspace) + ".durable" }

// Exchanges names every exchange of a workspace, for brokers' access
// rules.
func Exchanges(workspace string) []string {
	return []string{ExchangeName(workspace), DurableExchangeName(workspace)}
}

// QueueName is the durable queue name of a workspace's bus.Queue.
func QueueName(workspace, name string) string { return ExchangeName(workspace) + ".q." + name }

func subQueueName(workspace string) string { return ExchangeName(workspace) + ".sub." + randomID() }

// Permission returns the RabbitMQ permission regexp, for configure, write
// and read alike, that allows a user exactly the given workspaces:
// their exchanges and every queue this adapter names for them.
func Permission(workspaces ...string) string {
	alts := make([]string, len(workspaces))
	for i, ws := range workspaces {
		alts[i] = regexp.QuoteMeta(ExchangeName(ws))
	}
	return `^(` + strings.Join(alts, "|") + `)(\..*)?$`
}

// onChannel runs f on a channel of its own, so that an exception the broker
// raises (which closes the channel) stays with this one operation.
func onChannel(conn *amqp.Connection, f func(*amqp.Channel) error) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	err = f(ch)
	if !ch.IsClosed() {
		_ = ch.Close()
	}
	return err
}

func (b *Bus) declareExchange(conn *amqp.Connection, ws string) error {
	var name string
	err := onChannel(conn, func(ch *amqp.Channel) error {
		for _, name = range Exchanges(ws) {
			if err := ch.ExchangeDeclare(name, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return brokerError("declare exchange "+name, err)
	}
	b.mu.Lock()
	b.exchanges[ws] = conn
	b.mu.Unlock()
	return nil
}

// ensureExchange declares the workspace's exchanges once per connection.
func (b *Bus) ensureExchange(conn *amqp.Connection, ws string) error {
	b.mu.Lock()
	done := b.exchanges[ws] == conn
	b.mu.Unlock()
	if done {
		return nil
	}
	return b.declareExchange(conn, ws)
}

// DeclareQueue creates the durable queue if it does not exist and binds it
// to its pattern; it is re-declared after every reconnection.
func (b *Bus) DeclareQueue(ctx context.Context, workspace string, q bus.Queue) error {
	if err := checkQueue(q); err != nil {
		return err
	}
	return b.do(ctx, func(conn *amqp.Connection) error {
		return b.declareQueue(conn, workspace, q)
	})
}

func checkQueue(q bus.Queue) error {
	if q.Name == "" {
		return errors.New("amqp: queue without a name")
	}
	if err := q.Pattern.Validate(true); err != nil {
		return fmt.Errorf("amqp: queue %s: %w", q.Name, err)
	}
	return nil
}

// declareQueue declares a quorum queue, or a classic durable one where the
// broker has no quorum queues, bound to the durable exchange; a queue that
// exists already with other arguments (another MaxAge, or classic) is used
// as it is.
func (b *Bus) declareQueue(conn *amqp.Connection, ws string, q bus.Queue) error {
	if err := b.ensureExchange(conn, ws); err != nil {
		return err
	}
	name := QueueName(ws, q.Name)
	declare := func(args amqp.Table) error {
		return onChannel(conn, func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare(name, true, false, false, false, args)
			return err
		})
	}
	err := declare(queueArgs(q, true))
	switch {
	case err == nil:
	case code(err) == amqp.PreconditionFailed && strings.Contains(err.Error(), "inequivalent arg"):
		b.log.Debug("queue exists with other arguments; using it as it is", "queue", name, "err", err)
		err = onChannel(conn, func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclarePassive(name, true, false, false, false, nil)
			return err
		})
	case code(err) == amqp.AccessRefused || conn.IsClosed():
	default:
		b.log.Warn("quorum queue refused; declaring a classic durable queue", "queue", name, "err", err)
		err = declare(queueArgs(q, false))
	}
	if err == nil {
		err = onChannel(conn, func(ch *amqp.Channel) error {
			if err := ch.QueueBind(name, string(q.Pattern), DurableExchangeName(ws), false, nil); err != nil {
				return err
			}
			// Queues declared before the durable exchange existed are
			// bound to the transient one, where they would get the
			// transient copies too. Unbinding what is not bound is a no-op.
			return ch.QueueUnbind(name, string(q.Pattern), ExchangeName(ws), nil)
		})
	}
	if err != nil {
		return brokerError("declare queue "+name, err)
	}
	b.mu.Lock()
	b.queues[queueID{ws, q.Name}] = q
	b.mu.Unlock()
	return nil
}

func queueArgs(q bus.Queue, quorum bool) amqp.Table {
	age := q.MaxAge
	if age <= 0 {
		age = bus.DefaultMaxAge
	}
	args := amqp.Table{"x-message-ttl": int64(age / time.Millisecond)}
	if quorum {
		args["x-queue-type"] = amqp.QueueTypeQuorum
	}
	return args
}

// DeleteQueue removes a durable queue and the messages in it; a queue that
// does not exist is not an error.
func (b *Bus) DeleteQueue(ctx context.Context, workspace, name string) error {
	qname := QueueName(workspace, name)
	err := b.do(ctx, func(conn *amqp.Connection) error {
		return onChannel(conn, func(ch *amqp.Channel) error {
			_, err := ch.QueueDelete(qname, false, false, false)
			return err
		})
	})
	if code(err) == amqp.NotFound {
		err = nil
	}
	if err != nil {
		return brokerError("delete queue "+qname, err)
	}
	b.mu.Lock()
	delete(b.queues, queueID{workspace, name})
	b.mu.Unlock()
	return nil
}
