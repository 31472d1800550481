package nats

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/runlet/runlet/bus"
)

// NATS reports a permission violation asynchronously, as "-ERR
// 'Permissions Violation for Publish to "subject"'", and the request that
// caused it just never gets a reply. The adapter makes such refusals
// synchronous: calls waiting on the broker register a pendingCall, and the
// error handler cancels the ones the violation names with ErrForbidden.
type pendingCall struct {
	match  func(subject string) bool
	cancel context.CancelCauseFunc
}

var violationRe = regexp.MustCompile(`(?i)violation for (publish|subscription) to "([^"]+)"`)

// guard returns a context cancelled with an ErrForbidden cause when the
// broker refuses a subject match accepts, and the function that ends the
// guard.
func (b *Bus) guard(ctx context.Context, match func(string) bool) (context.Context, func()) {
	c, cancel := context.WithCancelCause(ctx)
	p := &pendingCall{match: match, cancel: cancel}
	b.mu.Lock()
	b.pending[p] = struct{}{}
	b.mu.Unlock()
	return c, func() {
		b.mu.Lock()
		delete(b.pending, p)
		b.mu.Unlock()
		cancel(nil)
	}
}

// refused returns the ErrForbidden a guard was cancelled with, or err.
func refused(c context.Context, err error) error {
	if cause := context.Cause(c); errors.Is(cause, bus.ErrForbidden) {
		return cause
	}
	return err
}

// asyncError is nats.go's error handler.
func (b *Bus) asyncError(_ *natsgo.Conn, sub *natsgo.Subscription, err error) {
	m := violationRe.FindStringSubmatch(err.Error())
	if !errors.Is(err, natsgo.ErrPermissionViolation) || m == nil {
		subject := ""
		if sub != nil {
			subject = sub.Subject
		}
		b.log.Warn("NATS reported an error", "err", err, "subject", subject)
		return
	}
	subject := m[2]
	b.log.Debug("NATS refused", "op", m[1], "subject", subject)
	cause := fmt.Errorf("%w: nats: %s to %q", bus.ErrForbidden, strings.ToLower(m[1]), subject)
	b.mu.Lock()
	defer b.mu.Unlock()
	for p := range b.pending {
		if p.match(subject) {
			p.cancel(cause)
		}
	}
}

// subjectIs matches one subject exactly.
func subjectIs(s string) func(string) bool { return func(x string) bool { return x == s } }

// apiFor matches JetStream API and ack subjects naming a stream.
func apiFor(stream string) func(string) bool {
	return func(x string) bool {
		if !strings.HasPrefix(x, "$JS.") {
			return false
		}
		for _, w := range strings.Split(x, ".") {
			if w == stream {
				return true
			}
		}
		return false
	}
}

// checkPublish makes a refused core publish synchronous the first time a
// workspace is used: the server answers the flush's PING after the -ERR of
// the publish, and nats.go records the -ERR as the connection's last error
// before it reads the PONG. Later publishes to an accepted workspace are
// not flushed: permissions are granted per workspace.
func (b *Bus) checkPublish(ctx context.Context, ws, subject string) error {
	b.mu.Lock()
	ok := b.allowed[ws]
	b.mu.Unlock()
	if ok {
		return nil
	}
	if err := b.flush(ctx); err != nil {
		// Not connected: the message waits in the reconnect buffer.
		return nil
	}
	if err := b.nc.LastError(); errors.Is(err, natsgo.ErrPermissionViolation) && strings.Contains(err.Error(), `"`+subject+`"`) {
		return fmt.Errorf("%w: nats: publish to %q: %v", bus.ErrForbidden, subject, err)
	}
	b.mu.Lock()
	b.allowed[ws] = true
	b.mu.Unlock()
	return nil
}

// flushWait bounds a flush whose context has no deadline (nats.go needs
// one).
const flushWait = 10 * time.Second

// flush waits until the server has processed everything sent so far.
func (b *Bus) flush(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, flushWait)
		defer cancel()
	}
	return b.nc.FlushWithContext(ctx)
}
