package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/runlet/runlet/bench/internal/benchkit"
)

// catScript is the job every session types into, through Runlet and
// through ssh alike: like a shell's line editor, it takes the terminal out
// of canonical mode and echoes each key itself, so every echo goes through
// the remote process and back, not only through the kernel's line
// discipline. READY marks the moment it does.
const catScript = "stty raw -echo; printf READY; exec cat"

const readyMark = "READY"

// session is one terminal a person types into.
type session interface {
	// Type sends one key. Its echo arrives through the session's echoes.
	Type(ctx context.Context, key byte) error
	// Close ends the remote job and the connection.
	Close() error
}

// echoes matches a session's output to the keys typed, in order: a key's
// latency is from just before it was sent to the moment its echo arrived.
type echoes struct {
	mu       sync.Mutex
	ready    bool
	readyC   chan struct{}
	pre      []byte // output before the ready mark
	sent     []sentKey
	lat      benchkit.Sample
	wrong    int // echoes that were not the key expected
	extra    int // bytes that echoed no key
	arrivedC chan struct{}
}

type sentKey struct {
	key byte
	at  time.Time
}

func newEchoes() *echoes {
	return &echoes{readyC: make(chan struct{}), arrivedC: make(chan struct{}, 1)}
}

// feed takes output that arrived at the given time.
func (e *echoes) feed(data []byte, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.ready {
		e.pre = append(e.pre, data...)
		i := bytes.Index(e.pre, []byte(readyMark))
		if i < 0 {
			return
		}
		data = e.pre[i+len(readyMark):]
		e.pre = nil
		e.ready = true
		close(e.readyC)
	}
	for _, c := range data {
		if len(e.sent) == 0 {
			e.extra++
			continue
		}
		k := e.sent[0]
		e.sent = e.sent[1:]
		if c != k.key {
			e.wrong++
		}
		e.lat = append(e.lat, at.Sub(k.at))
	}
	if len(data) > 0 {
		select {
		case e.arrivedC <- struct{}{}:
		default:
		}
	}
}

// typed records key as sent now.
func (e *echoes) typed(key byte) {
	e.mu.Lock()
	e.sent = append(e.sent, sentKey{key: key, at: time.Now()})
	e.mu.Unlock()
}

func (e *echoes) outstanding() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sent)
}

// waitReady waits for the job's ready mark.
func (e *echoes) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	select {
	case <-e.readyC:
		return nil
	case <-ctx.Done():
		e.mu.Lock()
		defer e.mu.Unlock()
		return fmt.Errorf("the job never printed %s (output so far %q): %w", readyMark, e.pre, ctx.Err())
	}
}

// echoWait bounds the wait for an echo; a key not back by then is lost.
const echoWait = 30 * time.Second

// typing is the result of one session.
type typing struct {
	lat   benchkit.Sample
	lost  int
	wrong int
	extra int
}

// typeKeys types keys into s, one at a time as soon as the last one
// echoed when interval is zero, else one every interval whether or not
// earlier ones echoed (a person does not wait for the echo).
func typeKeys(ctx context.Context, s session, e *echoes, keys int, interval time.Duration) (typing, error) {
	if err := e.waitReady(ctx); err != nil {
		return typing{}, err
	}
	var tick *time.Ticker
	if interval > 0 {
		// Sessions start at random phases, as people do.
		select {
		case <-time.After(rand.N(interval)):
		case <-ctx.Done():
			return typing{}, ctx.Err()
		}
		tick = time.NewTicker(interval)
		defer tick.Stop()
	}
	for i := range keys {
		key := byte('a' + i%26)
		if tick != nil && i > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return typing{}, ctx.Err()
			}
		}
		e.typed(key)
		if err := s.Type(ctx, key); err != nil {
			return typing{}, fmt.Errorf("type key %d: %w", i+1, err)
		}
		if tick == nil {
			if err := waitEchoes(ctx, e); err != nil {
				return typing{}, fmt.Errorf("key %d: %w", i+1, err)
			}
		}
	}
	err := waitEchoes(ctx, e)
	e.mu.Lock()
	defer e.mu.Unlock()
	t := typing{lat: e.lat, lost: len(e.sent), wrong: e.wrong, extra: e.extra}
	if err != nil && ctx.Err() != nil {
		return t, err
	}
	return t, nil
}

// waitEchoes waits until every key typed has echoed, or echoWait passed
// without an echo.
func waitEchoes(ctx context.Context, e *echoes) error {
	timer := time.NewTimer(echoWait)
	defer timer.Stop()
	for e.outstanding() > 0 {
		select {
		case <-e.arrivedC:
			timer.Reset(echoWait)
		case <-timer.C:
			return fmt.Errorf("%d keys did not echo within %v", e.outstanding(), echoWait)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
