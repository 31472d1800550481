package auth

import (
	"container/list"
	"sync"
	"time"
)

// limitPolicy shapes a loginLimiter.
type limitPolicy struct {
	free   int           // failures in a row before any wait
	base   time.Duration // the wait after the free-th failure; each further one doubles it
	max    time.Duration // the longest wait
	forget time.Duration // a key with no failure for this long, and no wait, starts afresh
	size   int           // at most this many keys are remembered
}

// signinPolicy is the policy of every sign-in limiter: 10 failures free,
// then 30 s, 1 min, 2 min … up to 15 min between attempts.
var signinPolicy = limitPolicy{free: 10, base: 30 * time.Second, max: 15 * time.Minute, forget: time.Hour, size: 10_000}

// loginLimiter counts failed attempts in a row per key (an account, a
// source address) and makes a key that failed too often wait, doubling the
// wait with each further failure. An attempt is bracketed by begin and
// done, so that attempts running at once cannot all slip under the limit.
//
// Memory is bounded: at most size keys, the oldest forgotten first, and
// keys that reached the limit only once no other key is left to forget,
// so a flood of new keys cannot wipe out the record of a locked one.
type loginLimiter struct {
	now    func() time.Time
	policy limitPolicy

	mu   sync.Mutex
	keys map[string]*limitEntry
	// young holds the keys below the limit, locked the others, each in
	// order of last use, the most recent at the front.
	young, locked list.List
}

type limitEntry struct {
	key      string
	failures int       // in a row
	inflight int       // attempts begun and not done
	until    time.Time // no attempt before
	last     time.Time // the last use
	el       *list.Element
	in       *list.List // young or locked; nil until filed
}

func newLoginLimiter(now func() time.Time, p limitPolicy) *loginLimiter {
	return &loginLimiter{now: now, policy: p, keys: map[string]*limitEntry{}}
}

// begin asks to make an attempt for key. It returns 0 when the attempt may
// go ahead, and done must follow; otherwise how long to wait.
func (l *loginLimiter) begin(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.prune(now)
	e := l.entry(key, now)
	defer l.file(e)
	if wait := e.until.Sub(now); wait > 0 {
		return wait
	}
	// Near the limit, one attempt at a time: those running could all fail.
	if e.inflight > 0 && e.failures+e.inflight >= l.policy.free {
		return time.Second
	}
	e.inflight++
	return 0
}

// done ends an attempt that begin let through. A failure counts, and the
// free-th failure in a row and every one after it make the key wait: done
// returns the failures in a row and that wait (0 for none).
func (l *loginLimiter) done(key string, failed bool) (failures int, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	e := l.entry(key, now) // forgotten meanwhile: counts afresh
	defer l.file(e)
	e.inflight = max(0, e.inflight-1)
	if failed {
		e.failures++
		if e.failures >= l.policy.free {
			wait = l.policy.wait(e.failures)
			e.until = now.Add(wait)
		}
	}
	return e.failures, wait
}

// reset forgets key's failures: a success.
func (l *loginLimiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.keys[key]; ok {
		l.remove(e)
	}
}

// len is how many keys are remembered.
func (l *loginLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// wait is how long the failures-th failure in a row makes a key wait.
func (p limitPolicy) wait(failures int) time.Duration {
	d := p.base
	for i := p.free; i < failures && d < p.max; i++ {
		d *= 2
	}
	return min(d, p.max)
}

// entry returns key's entry, a new one if none, used at now. A new entry
// is remembered only once filed.
func (l *loginLimiter) entry(key string, now time.Time) *limitEntry {
	e, ok := l.keys[key]
	if !ok {
		e = &limitEntry{key: key}
	}
	e.last = now
	return e
}

// file puts e at the front of the list it belongs in, making room for a
// new one; an entry with nothing to remember is dropped.
func (l *loginLimiter) file(e *limitEntry) {
	if e.failures == 0 && e.inflight == 0 {
		l.remove(e)
		return
	}
	want := &l.young
	if e.failures >= l.policy.free {
		want = &l.locked
	}
	switch {
	case e.in == want:
		want.MoveToFront(e.el)
		return
	case e.in != nil:
		e.in.Remove(e.el)
	default:
		for len(l.keys) >= max(1, l.policy.size) {
			l.evict()
		}
		l.keys[e.key] = e
	}
	e.el, e.in = want.PushFront(e), want
}

// prune forgets the keys that have not been used for policy.forget and
// have neither a wait left nor an attempt running, oldest first.
func (l *loginLimiter) prune(now time.Time) {
	for _, ls := range []*list.List{&l.young, &l.locked} {
		for el := ls.Back(); el != nil; el = ls.Back() {
			e := el.Value.(*limitEntry)
			if now.Sub(e.last) < l.policy.forget || now.Before(e.until) || e.inflight > 0 {
				break
			}
			l.remove(e)
		}
	}
}

// evict forgets the least recently used key, a young one if any.
func (l *loginLimiter) evict() {
	if el := l.young.Back(); el != nil {
		l.remove(el.Value.(*limitEntry))
	} else if el := l.locked.Back(); el != nil {
		l.remove(el.Value.(*limitEntry))
	}
}

// remove forgets e, if it is remembered.
func (l *loginLimiter) remove(e *limitEntry) {
	if e.in == nil {
		return
	}
	e.in.Remove(e.el)
	delete(l.keys, e.key)
	e.el, e.in = nil, nil
}
