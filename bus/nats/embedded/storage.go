package embedded

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/runlet/runlet/internal/disk"
)

// JetStream stores on the disk of Config.Dir, which it shares with the
// database. Left to itself, nats-server sets its store limit once, at
// start, to 75% of the space free then. Started on a nearly full disk, it
// keeps a tiny limit after space is freed and refuses every message until
// a restart. Started on an emptier disk, it lets JetStream fill it, and a
// stream whose write fails for lack of space stays broken until a restart.
//
// So the server-wide limit is set out of the way (the size of the file
// system), and the limit that counts is the account's, which storeGuard
// keeps at what JetStream stores plus the space free beyond a reserve,
// re-checked every storeCheckEvery and on CheckStore. While the disk is
// nearly full, JetStream refuses new messages cleanly ("resource limits
// exceeded for account", which the bus reports as bus.ErrFull) without
// filling it; once space is freed, it takes them again. (nats-server
// applies an account's limit once the account has stored something since
// the start: the first message after a start on a full disk still goes
// in, which one message can afford.)

const (
	// storeCheckEvery is how often the guard re-reads the disk.
	storeCheckEvery = 2 * time.Second
	// The reserve is 2% of the disk, within these bounds.
	minReserve = 4 << 20
	maxReserve = 256 << 20
)

// Reserve is the space JetStream leaves free on a disk of total bytes for
// the database and its own files (a stream's index, consumers' state).
func Reserve(total uint64) uint64 { return min(max(total/50, minReserve), maxReserve) }

// storeLimit is the account's store limit when JetStream stores used bytes
// on a disk with space sp.
func storeLimit(used uint64, sp disk.Space) int64 {
	var room uint64
	if r := Reserve(sp.Total); sp.Free > r {
		room = sp.Free - r
	}
	// nats-server accepts an account limit below its own, the disk's size.
	return int64(min(used+room, sp.Total-1))
}

// storeGuard keeps the JetStream store limit of the server's account in
// step with the free space of the disk.
type storeGuard struct {
	ns   *server.Server
	dir  string
	log  *slog.Logger
	stop chan struct{}
	done chan struct{}
	once sync.Once // of close

	mu    sync.Mutex
	limit int64 // the limit set last; -1 (none) before the first check
	full  bool  // the last check found less than the reserve free
}

// diskLimit is the server-wide store limit for a store in dir: the size of
// its disk, or 0 (nats-server's default) when that is unknown, and then no
// guard is needed or possible.
func diskLimit(dir string, log *slog.Logger) int64 {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0 // nats-server fails with its own message
	}
	sp, err := disk.Usage(dir)
	if err != nil {
		log.Warn("the broker cannot follow the free space of its disk; its store limit is fixed at start", "dir", dir, "err", err)
		return 0
	}
	return int64(sp.Total)
}

// startStoreGuard sets the account's limit for the first time and re-checks
// it every storeCheckEvery until close.
func startStoreGuard(ns *server.Server, dir string, log *slog.Logger) (*storeGuard, error) {
	g := &storeGuard{ns: ns, dir: dir, log: log, stop: make(chan struct{}), done: make(chan struct{}), limit: -1}
	if err := g.check(); err != nil {
		return nil, err
	}
	go g.run()
	return g, nil
}

func (g *storeGuard) run() {
	defer close(g.done)
	t := time.NewTicker(storeCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := g.check(); err != nil {
				g.log.Error("checking the broker's disk", "dir", g.dir, "err", err)
			}
		case <-g.stop:
			return
		}
	}
}

// check reads the disk and JetStream's use of it, and sets the account's
// limit when it changed.
func (g *storeGuard) check() error {
	sp, err := disk.Usage(g.dir)
	if err != nil {
		return err
	}
	acc := g.ns.GlobalAccount()
	usage := acc.JetStreamUsage()
	limit := storeLimit(usage.Store, sp)

	g.mu.Lock()
	defer g.mu.Unlock()
	if limit != g.limit {
		l := usage.Limits
		l.MaxStore = limit
		if err := acc.UpdateJetStreamLimits(map[string]server.JetStreamAccountLimits{"": l}); err != nil {
			return fmt.Errorf("bus: embedded nats: set the store limit to %d bytes: %w", limit, err)
		}
		g.limit = limit
	}
	full := sp.Free <= Reserve(sp.Total)
	switch {
	case full && !g.full:
		g.log.Warn("disk full: the broker takes no new messages until space is freed on the disk of its store",
			"dir", g.dir, "free", sp.Free, "reserve", Reserve(sp.Total))
	case !full && g.full:
		g.log.Info("space was freed on the disk of the broker's store: it takes messages again", "dir", g.dir, "free", sp.Free)
	}
	g.full = full
	return nil
}

func (g *storeGuard) close() {
	g.once.Do(func() { close(g.stop) })
	<-g.done
}

// CheckStore re-reads the free space of the store's disk now rather than
// at the next periodic check, so that a message sent next sees space just
// freed (or just taken). The runlet server calls it before it dispatches a
// run. Errors are logged.
func (s *Server) CheckStore() {
	if s.store == nil {
		return
	}
	if err := s.store.check(); err != nil {
		s.log.Error("checking the broker's disk", "dir", s.cfg.Dir, "err", err)
	}
}
