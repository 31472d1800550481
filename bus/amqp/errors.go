package amqp

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/runlet/runlet/bus"
)

// ErrUnconfirmed is wrapped by PublishDurable's error when the broker nacked
// the message or the connection ended before its confirm: the message may or
// may not be stored, and publishing it again with the same ID is safe for
// consumers that deduplicate by ID.
var ErrUnconfirmed = errors.New("amqp: the broker did not confirm the message; publish it again with the same ID")

// brokerError words err for the caller, wrapping the bus error the contract
// names for it: 403 ACCESS_REFUSED becomes bus.ErrForbidden, a body over the
// broker's max_message_size bus.ErrTooLarge.
func brokerError(op string, err error) error {
	if err == nil {
		return nil
	}
	for _, known := range []error{bus.ErrClosed, bus.ErrForbidden, bus.ErrAuth, bus.ErrTooLarge, bus.ErrNoQueue} {
		if errors.Is(err, known) {
			return err
		}
	}
	var ae *amqp.Error
	if errors.As(err, &ae) {
		switch {
		case ae.Code == amqp.AccessRefused:
			return fmt.Errorf("amqp: %s: %w: %s", op, bus.ErrForbidden, ae.Reason)
		case tooLarge(ae):
			return fmt.Errorf("amqp: %s: %w: %s", op, bus.ErrTooLarge, ae.Reason)
		}
	}
	if errors.Is(err, amqp.ErrClosed) {
		return fmt.Errorf("amqp: %s: the connection to the broker ended; try again: %w", op, err)
	}
	return fmt.Errorf("amqp: %s: %w", op, err)
}

// code is the AMQP reply code of err, or 0.
func code(err error) int {
	var ae *amqp.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

// tooLarge reports a channel closed because a message exceeded the broker's
// max_message_size ("message size N is larger than configured max size M").
func tooLarge(ae *amqp.Error) bool {
	return ae.Code == amqp.PreconditionFailed && strings.Contains(ae.Reason, "max size")
}

// randomID returns 32 random hex digits.
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
