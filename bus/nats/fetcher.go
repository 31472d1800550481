package nats

import (
	"context"
	"errors"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// puller is what a consumer pulls its messages through: jetstream's
// MessagesContext, or a fetcher on a metered connection.
type puller interface {
	Next(opts ...jetstream.NextOpt) (jetstream.Msg, error)
	Stop()
	Drain()
}

// An idle pull costs a request every expiry and an idle heartbeat from the
// server every heartbeat, about 150 bytes each. jetstream's Messages caps
// them at 30 s and 15 s (it refuses idle heartbeats over 30 s): 45 MB a
// month for an idle device's dispatch queue alone, over four times its
// bandwidth budget (docs/bandwidth.md). On a metered connection
// (bus.Options.Metered) a consumer pulls with one long Fetch at a time
// instead. A pull lost with its connection is renewed on reconnection
// (recheck); the idle heartbeats only catch one the server dropped
// otherwise, within two of them.
const (
	meteredExpiry    = 30 * time.Minute
	meteredHeartbeat = 10 * time.Minute
)

// fetcher pulls through one Fetch of up to batch messages at a time, each
// waiting up to meteredExpiry: an idle consumer costs a request and its
// expiry every half hour and two idle heartbeats in between. The next
// Fetch goes once one completes, which costs a round trip per batch: for
// a device's queues, not a server's.
type fetcher struct {
	cons  jetstream.Consumer
	batch int

	mu      sync.Mutex
	cur     jetstream.MessageBatch
	cancel  context.CancelFunc // ends cur
	stopped bool
}

var _ puller = (*fetcher)(nil)

func newFetcher(cons jetstream.Consumer, batch int) *fetcher {
	return &fetcher{cons: cons, batch: batch}
}

// Next returns the next message, fetching again whenever a fetch ends by
// expiry or renew; it fails when a fetch fails otherwise (the consumer is
// gone) or once stopped (jetstream.ErrMsgIteratorClosed).
func (f *fetcher) Next(...jetstream.NextOpt) (jetstream.Msg, error) {
	for {
		cur, err := f.current()
		if err != nil {
			return nil, err
		}
		if m, ok := <-cur.Messages(); ok {
			return m, nil
		}
		err = cur.Error()
		f.mu.Lock()
		if f.cur == cur {
			f.cancel()
			f.cur = nil
		}
		stopped := f.stopped
		f.mu.Unlock()
		switch {
		case stopped:
			return nil, jetstream.ErrMsgIteratorClosed
		case renewable(err):
			continue // expired, renewed, or the server restarts: fetch again
		default:
			return nil, err
		}
	}
}

// renewable reports whether a fetch that ended with err is simply done
// (expired, completed, renewed) or interrupted by a server going away,
// whose pull the next Fetch, sent on reconnection, replaces.
func renewable(err error) bool {
	return err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, natsgo.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages) ||
		errors.Is(err, jetstream.ErrBatchCompleted) || errors.Is(err, jetstream.ErrServerShutdown) ||
		errors.Is(err, jetstream.ErrConsumerLeadershipChanged)
}

// current is the fetch under way, started when there is none.
func (f *fetcher) current() (jetstream.MessageBatch, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur != nil {
		return f.cur, nil // after Stop, what it holds still comes out
	}
	if f.stopped {
		return nil, jetstream.ErrMsgIteratorClosed
	}
	// The context's deadline is the pull's expiry; cancelling it ends the
	// fetch (renew, Stop).
	ctx, cancel := context.WithTimeout(context.Background(), meteredExpiry)
	b, err := f.cons.Fetch(f.batch, jetstream.FetchContext(ctx), jetstream.FetchHeartbeat(meteredHeartbeat))
	if err != nil {
		cancel()
		return nil, err
	}
	f.cur, f.cancel = b, cancel
	return b, nil
}

// renew ends the fetch under way so that Next starts another: after a
// reconnection, when the server may have lost the pull request.
func (f *fetcher) renew() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != nil {
		f.cancel()
	}
}

// Drain is Stop: the messages the fetch holds still come out of Next.
func (f *fetcher) Drain() { f.Stop() }

// Stop ends the fetch under way and, once what it holds came out of Next,
// every later Next.
func (f *fetcher) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	if f.cancel != nil {
		f.cancel()
	}
}
