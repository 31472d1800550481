package rabbitauth

import (
	"sync"
	"time"

	"github.com/runlet/runlet/bus"
)

// cache remembers principals for a short TTL, so that a busy broker, which
// asks about every binding and (for topic exchanges) every publish, does
// not reach the database each time. It holds at most size entries: when
// full, expired entries go first, then the oldest.
//
// Why not RabbitMQ's own rabbitmq_auth_backend_cache: it caches inside the
// broker, where the server cannot invalidate it, so a revoked device could
// reconnect until its entry expires (cache_ttl, 15 s by default), and it
// would be one more plugin for operators to enable. Here Forget makes a
// revocation take effect at once on this replica and within the TTL on
// the others.
type cache struct {
	size int
	ttl  time.Duration
	now  func() time.Time

	mu sync.Mutex
	m  map[string]entry
}

type entry struct {
	p       bus.Principal
	expires time.Time
}

func newCache(size int, ttl time.Duration, now func() time.Time) *cache {
	return &cache{size: size, ttl: ttl, now: now, m: map[string]entry{}}
}

func (c *cache) get(user string) (bus.Principal, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[user]
	if !ok || !c.now().Before(e.expires) {
		return bus.Principal{}, false
	}
	return e.p, true
}

func (c *cache) put(user string, p bus.Principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if _, ok := c.m[user]; !ok && len(c.m) >= c.size {
		c.evict(now)
	}
	c.m[user] = entry{p: p, expires: now.Add(c.ttl)}
}

// evict makes room for one entry: every expired one goes, or else the
// one closest to expiry (the oldest put).
func (c *cache) evict(now time.Time) {
	oldest, first := "", time.Time{}
	for u, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, u)
			continue
		}
		if oldest == "" || e.expires.Before(first) {
			oldest, first = u, e.expires
		}
	}
	if len(c.m) >= c.size {
		delete(c.m, oldest)
	}
}

func (c *cache) forget(user string) {
	c.mu.Lock()
	delete(c.m, user)
	c.mu.Unlock()
}
