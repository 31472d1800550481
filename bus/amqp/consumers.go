package amqp

import (
	"context"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Consumers returns how many consumers the workspace's durable queue has
// now (bus.ConsumerCounter), by a passive declare: 0 when the queue does
// not exist. RabbitMQ drops a consumer as soon as its connection closes
// (a daemon killed) or its heartbeats stop (cut off), so a device's
// dispatch queue says whether its daemon is connected.
func (b *Bus) Consumers(ctx context.Context, workspace, queue string) (int, error) {
	var n int
	err := b.do(ctx, func(conn *amqp.Connection) error {
		return onChannel(conn, func(ch *amqp.Channel) error {
			q, err := ch.QueueDeclarePassive(QueueName(workspace, queue), true, false, false, false, nil)
			if code(err) == amqp.NotFound {
				n = 0
				return nil
			}
			if err != nil {
				return err
			}
			n = q.Consumers
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("amqp: count the consumers of queue %s: %w", queue, err)
	}
	return n, nil
}
