package amqp_test

import (
	"regexp"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/runlet/runlet/bus"
	amqpbus "github.com/runlet/runlet/bus/amqp"
	"github.com/runlet/runlet/internal/testenv"
)

// TestDeclareMovesQueueToDurableExchange: a durable queue bound to the
// workspace's transient exchange, as declared before the durable exchange
// existed, is moved by DeclareQueue, so that it gets each durable message
// once and no transient ones, while a subscriber still sees both kinds.
func TestDeclareMovesQueueToDurableExchange(t *testing.T) {
	url := testenv.RabbitMQ(t)
	ws := testenv.RandomName("ws-")
	q := bus.Queue{Name: "work", Pattern: bus.AllStatus}

	raw, err := amqp.Dial(url)
	must(t, "dial", err)
	defer raw.Close()
	ch, err := raw.Channel()
	must(t, "channel", err)
	must(t, "declare the old exchange", ch.ExchangeDeclare(amqpbus.ExchangeName(ws), amqp.ExchangeTopic, true, false, false, false, nil))
	_, err = ch.QueueDeclare(amqpbus.QueueName(ws, q.Name), true, false, false, false, amqp.Table{"x-queue-type": amqp.QueueTypeQuorum})
	must(t, "declare the old queue", err)
	must(t, "bind the old way", ch.QueueBind(amqpbus.QueueName(ws, q.Name), string(q.Pattern), amqpbus.ExchangeName(ws), false, nil))

	b := open(t, url, bus.Options{})
	ctx := testCtx(t)
	must(t, "declare", b.DeclareQueue(ctx, ws, q))
	must(t, "declare again", b.DeclareQueue(ctx, ws, q)) // unbinding what is not bound
	sub := newIDSet()
	s, err := b.Subscribe(ctx, ws, bus.AllStatus, func(m bus.Message) { sub.add(m.ID) })
	must(t, "subscribe", err)
	defer s.Close()
	must(t, "publish", b.Publish(ctx, ws, msg(bus.StatusKey("e", "d"), "transient")))
	must(t, "publish durable", b.PublishDurable(ctx, ws, msg(bus.StatusKey("e", "d"), "durable")))
	testenv.Eventually(t, "the subscriber sees both", wait, func() bool { return len(sub.missing([]string{"transient", "durable"})) == 0 })

	got := newIDSet()
	c, err := b.Consume(ctx, ws, q, func(d bus.Delivery) {
		must(t, "ack", d.Ack())
		got.addDelivery(d)
	})
	must(t, "consume", err)
	defer c.Close()
	testenv.Eventually(t, "the durable message", wait, func() bool { return len(got.missing([]string{"durable"})) == 0 })
	// A duplicate or the transient message would be in the queue before
	// the marker, which the single consumer gets last.
	must(t, "publish durable", b.PublishDurable(ctx, ws, msg(bus.StatusKey("e", "d"), "marker")))
	testenv.Eventually(t, "the marker", wait, func() bool { return len(got.missing([]string{"marker"})) == 0 })
	got.mu.Lock()
	defer got.mu.Unlock()
	if got.count["durable"] != 1 || got.count["transient"] != 0 || len(got.count) != 2 {
		t.Errorf("the queue got %v, want durable and marker once each", got.count)
	}
}

// TestExchanges: every exchange of a workspace is within its Permission.
func TestExchanges(t *testing.T) {
	ws := "a.b c"
	xs := amqpbus.Exchanges(ws)
	if len(xs) != 2 || xs[0] != amqpbus.ExchangeName(ws) || xs[1] != amqpbus.DurableExchangeName(ws) {
		t.Fatalf("Exchanges(%q) = %v", ws, xs)
	}
	perm := regexp.MustCompile(amqpbus.Permission(ws))
	for _, x := range xs {
		if !perm.MatchString(x) {
			t.Errorf("exchange %s outside Permission(%q) = %s", x, ws, perm)
		}
		if regexp.MustCompile(amqpbus.Permission("a")).MatchString(x) {
			t.Errorf("exchange %s within another workspace's permission", x)
		}
	}
}
