// Package outbox is a small durable queue of bus messages on a device. A
// message Put in it is on disk before Put returns, waits there through a
// broker outage and a restart, and leaves only once the broker has
// confirmed it: Drain publishes the messages in order with the caller's
// publish function (bus.Bus.PublishDurable). The daemon's statuses wait in
// one; telemetry readings and log uploads can wait in their own.
package outbox

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/internal/atomicfile"
)

// Options configure a Queue at Open; zero values pick the defaults.
type Options struct {
	// MaxMessages and MaxBytes bound what the queue holds (MaxBytes counts
	// its files), so that a long outage fills the queue rather than the
	// disk: Put then fails with ErrFull. Zero means DefaultMaxMessages and
	// DefaultMaxBytes.
	MaxMessages int
	MaxBytes    int64
	// Name says what the queue is to a person, in errors and log lines
	// ("the daemon's state in /home/pi/.runlet/state/outbox"); "" means
	// "the outbox in <dir>".
	Name string
	// Logger receives the queue's log lines: damaged entries, a broker that
	// stops or starts again confirming. Nil discards them.
	Logger *slog.Logger
	// OnDamaged, when set, is told of each entry Open found damaged,
	// instead of the log. The entry is set aside as <file>.damaged, for a
	// person to look at; the others are queued.
	OnDamaged func(file string, err error)
	// Legacy, when set, reads an entry that is not in this package's format
	// (one an older version of the caller wrote in its own): its message is
	// queued in the entry's place. An error from it makes the entry damaged.
	Legacy func(data []byte) (bus.Message, error)
}

// Defaults of Options.
const (
	DefaultMaxMessages = 100_000
	DefaultMaxBytes    = 64 << 20
)

// ErrFull is Put's error when the queue holds as much as its Options allow.
var ErrFull = errors.New("outbox: full")

// Backoff of Drain between attempts while publish fails.
const (
	retryFirst = 100 * time.Millisecond
	retryMost  = 5 * time.Second
)

// Queue is a durable queue of bus messages in a directory of its own, one
// file per message. Its methods may be called from several goroutines; one
// process at a time may open a directory.
type Queue struct {
	dir  string
	name string
	opts Options
	log  *slog.Logger

	put sync.Mutex // held by Put: numbers go to files in the order of Put

	mu       sync.Mutex
	next     uint64 // the number of the next file
	entries  []entry
	bytes    int64
	draining bool
	wake     chan struct{} // has a token when entries grew
	changed  chan struct{} // closed and replaced when entries shrank
}

type entry struct {
	file string
	num  uint64
	size int64
	msg  bus.Message
}

// Open opens the queue in dir, creating dir if needed, with the messages a
// previous process left unconfirmed, oldest first. A damaged entry does not
// fail Open: it is reported (Options.OnDamaged, or the log) and set aside.
func Open(dir string, opts Options) (*Queue, error) {
	if opts.MaxMessages <= 0 {
		opts.MaxMessages = DefaultMaxMessages
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Name == "" {
		opts.Name = "the outbox in " + dir
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	q := &Queue{
		dir: dir, name: opts.Name, opts: opts, log: opts.Logger,
		wake: make(chan struct{}, 1), changed: make(chan struct{}),
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: create %s: %w", q.name, err)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("outbox: read %s: %w", q.name, err)
	}
	for _, de := range des {
		n, ok := fileNumber(de.Name())
		if !ok || !de.Type().IsRegular() {
			continue // a temporary file of a Put a crash cut short, an entry set aside
		}
		e, err := q.load(de)
		if err != nil {
			q.damaged(de.Name(), err)
			continue
		}
		e.num = n
		q.entries = append(q.entries, e)
		q.bytes += e.size
		q.next = max(q.next, n+1)
	}
	slices.SortFunc(q.entries, func(a, b entry) int { return cmp.Compare(a.num, b.num) })
	// Not from 0 when the directory is empty: a file whose removal a crash
	// lost must not come after the new ones.
	q.next = max(q.next, uint64(time.Now().UnixNano()))
	if len(q.entries) > 0 {
		q.wake <- struct{}{}
	}
	return q, nil
}

// fileNumber reads the number in the name of an entry file.
func fileNumber(name string) (uint64, bool) {
	num, ok := strings.CutSuffix(name, ".json")
	if !ok || num == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(num, 10, 64)
	return n, err == nil
}

func fileName(n uint64) string { return fmt.Sprintf("%020d.json", n) }

func (q *Queue) load(de os.DirEntry) (entry, error) {
	fi, err := de.Info()
	if err != nil {
		return entry{}, err
	}
	if fi.Size() > q.opts.MaxBytes {
		return entry{}, fmt.Errorf("entry of %d bytes, more than the queue holds", fi.Size())
	}
	b, err := os.ReadFile(filepath.Join(q.dir, de.Name()))
	if err != nil {
		return entry{}, err
	}
	m, err := decodeEntry(b)
	if errors.Is(err, errNotEntry) && q.opts.Legacy != nil {
		m, err = q.opts.Legacy(b)
		if err == nil {
			err = m.Key.Validate(false)
		}
	}
	if err != nil {
		return entry{}, err
	}
	return entry{file: de.Name(), size: int64(len(b)), msg: m}, nil
}

// damaged reports an entry Open cannot read and sets it aside.
func (q *Queue) damaged(file string, err error) {
	if q.opts.OnDamaged != nil {
		q.opts.OnDamaged(file, err)
	} else {
		q.log.Error("an entry of the outbox is damaged; it is set aside, the others go out", "outbox", q.name, "file", file, "err", err)
	}
	path := filepath.Join(q.dir, file)
	if rerr := os.Rename(path, path+".damaged"); rerr != nil {
		q.log.Error("cannot set a damaged entry of the outbox aside", "outbox", q.name, "file", file, "err", rerr)
	}
}

// Put stores m at the end of the queue and returns once it is on disk. A
// message without an ID gets a random one, kept on disk, so that a resend
// (after a crash between the broker's confirm and the removal) can be
// dropped by whoever receives it. ErrFull (wrapped): the queue holds as
// much as Options allow; an EFULL runlet error: the disk is full.
func (q *Queue) Put(ctx context.Context, m bus.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := m.Key.Validate(false); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if m.ID == "" {
		m.ID = rand.Text()
	}
	b, err := encodeEntry(m)
	if err != nil {
		return fmt.Errorf("outbox: message %s: %w", m.ID, err)
	}
	size := int64(len(b))
	if size > q.opts.MaxBytes {
		return fmt.Errorf("outbox: a message of %d bytes is larger than %s holds (%d bytes)", size, q.name, q.opts.MaxBytes)
	}

	q.put.Lock()
	defer q.put.Unlock()
	q.mu.Lock()
	count, total := len(q.entries), q.bytes
	n := q.next
	full := count >= q.opts.MaxMessages || total+size > q.opts.MaxBytes
	if !full {
		q.next++
	}
	q.mu.Unlock()
	if full {
		return fmt.Errorf("%w: %s holds %d messages (%d bytes) the broker has not confirmed, the most it keeps; new ones are refused until the broker takes some",
			ErrFull, q.name, count, total)
	}
	file := fileName(n)
	if err := atomicfile.Write(filepath.Join(q.dir, file), b); err != nil {
		if runlet.IsDiskFull(err) {
			return runlet.DiskFull(q.name, err)
		}
		return fmt.Errorf("outbox: store message %s in %s: %w", m.ID, q.name, err)
	}
	q.mu.Lock()
	q.entries = append(q.entries, entry{file: file, num: n, size: size, msg: m})
	q.bytes += size
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// Pending returns the messages not confirmed yet, oldest first. Their
// bodies must not be modified.
func (q *Queue) Pending() []bus.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]bus.Message, len(q.entries))
	for i, e := range q.entries {
		out[i] = e.msg
	}
	return out
}

// Len is the number of messages not confirmed yet.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries)
}

// Drain publishes the queued messages, oldest first, until ctx ends, and
// then returns ctx's error. A message leaves the queue, and the disk, only
// once publish has returned nil for it, which must mean that the broker
// confirmed it (bus.Bus.PublishDurable). After an error Drain tries the same
// message again, after 100ms, then twice as long each time up to 5s; the
// messages behind it wait, so the order is kept. publish bounds each
// attempt itself. One Drain at a time: a second one fails at once.
func (q *Queue) Drain(ctx context.Context, publish func(context.Context, bus.Message) error) error {
	q.mu.Lock()
	if q.draining {
		q.mu.Unlock()
		return errors.New("outbox: Drain is running already")
	}
	q.draining = true
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.draining = false
		q.mu.Unlock()
	}()

	wait := retryFirst
	for {
		q.mu.Lock()
		var head entry
		ok := len(q.entries) > 0
		if ok {
			head = q.entries[0]
		}
		q.mu.Unlock()
		if !ok {
			select {
			case <-q.wake:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := publish(ctx, head.msg); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if wait == retryFirst {
				q.log.Warn("the broker does not confirm; messages wait on disk and are retried", "outbox", q.name, "pending", q.Len(), "err", err)
			}
			q.log.Debug("message not confirmed yet; retrying", "outbox", q.name, "id", head.msg.ID, "key", head.msg.Key, "in", wait, "err", err)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
			wait = min(2*wait, retryMost)
			continue
		}
		if wait != retryFirst {
			q.log.Info("the broker confirms again", "outbox", q.name, "pending", q.Len()-1)
		}
		wait = retryFirst
		q.remove(head)
	}
}

// remove forgets the confirmed head of the queue.
func (q *Queue) remove(head entry) {
	// A removal lost in a crash only means one more resend, with the same
	// message id.
	if err := os.Remove(filepath.Join(q.dir, head.file)); err != nil && !errors.Is(err, os.ErrNotExist) {
		q.log.Error("cannot remove a confirmed message from the outbox; it will be sent again at the next start", "outbox", q.name, "file", head.file, "err", err)
	}
	q.mu.Lock()
	q.entries[0] = entry{}
	q.entries = q.entries[1:]
	q.bytes -= head.size
	close(q.changed)
	q.changed = make(chan struct{})
	q.mu.Unlock()
}

// Wait returns nil once the queue is empty, or ctx's error if ctx ends
// first.
func (q *Queue) Wait(ctx context.Context) error {
	for {
		q.mu.Lock()
		n, changed := len(q.entries), q.changed
		q.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
