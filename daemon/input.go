package daemon

import (
	"cmp"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/runner"
	"github.com/runlet/runlet/wire"
)

// onInput writes a viewer's keystrokes to the execution's terminal. Keys
// for an execution whose dispatch has not been taken yet are held until it
// is (typeAhead), then handed to the runner, which keeps them until the
// terminal exists: `echo y | runlet @run job` sends its y before the job
// starts, as keys typed ahead into ssh are.
func (d *Daemon) onInput(m bus.Message) {
	exec := execOfKey(m.Key)
	if exec == "" {
		return
	}
	viewer, seq, data, err := wire.ParseInput(m)
	if err != nil {
		d.log.Debug("dropping malformed input", "key", m.Key, "err", err)
		return
	}
	// Under the lock enqueue takes: the execution is either in the runner
	// with all the keys held before, or not yet and these join them.
	d.typeAhead.mu.Lock()
	x := d.runner.Get(exec)
	if x == nil {
		if d.known(exec) {
			d.log.Debug("input for an execution that has ended", "execution", exec, "viewer", viewer)
		} else {
			d.typeAhead.hold(exec, heldKey{viewer, seq}, data, d.cfg.Now(), d.log)
		}
		d.typeAhead.mu.Unlock()
		return
	}
	d.typeAhead.mu.Unlock()
	// Typing makes this viewer's window the job's (sizes.go).
	if err := d.sizes.typed(x, viewer); err != nil {
		d.log.Debug("the typist's window size not applied", "execution", exec, "viewer", viewer, "err", err)
	}
	if err := x.Input(data); err != nil {
		d.log.Debug("input not delivered", "execution", exec, "viewer", viewer, "err", err)
	}
}

// Bounds of the input held for executions not dispatched here yet: the
// input is transient, so only keys sent while this daemon listens are
// held, and the dispatch comes moments later (or, for a device's first
// job, once its queue exists: the consumer retries every 30s at most).
const (
	// maxHeldExecutions is how many executions may have input held.
	maxHeldExecutions = 16
	// holdFor is how long input waits for its execution's dispatch.
	holdFor = 2 * time.Minute
)

// typeAhead is the input that came before its execution's dispatch, per
// execution, each bounded by runner.MaxTypeAhead. Its mutex also orders
// onInput against enqueue.
type typeAhead struct {
	mu   sync.Mutex
	held map[string]*heldInput
}

// heldInput is the input of one execution, in the order it came.
type heldInput struct {
	first time.Time // when the first key came
	keys  []heldKey
	data  [][]byte
	size  int
	full  bool // some was dropped: drop the rest too
}

// heldKey names one input message: a viewer numbers its own from 1.
type heldKey struct {
	viewer string
	seq    uint64
}

// hold keeps data for exec. Call with t.mu.
func (t *typeAhead) hold(exec string, k heldKey, data []byte, now time.Time, log *slog.Logger) {
	t.expire(now, log)
	h := t.held[exec]
	if h == nil {
		if len(t.held) >= maxHeldExecutions {
			log.Warn("input for too many executions that have not reached this device yet; dropping this one's",
				"execution", exec, "executions", len(t.held))
			return
		}
		if t.held == nil {
			t.held = map[string]*heldInput{}
		}
		h = &heldInput{first: now}
		t.held[exec] = h
		log.Debug("holding input for an execution that has not reached this device yet", "execution", exec)
	}
	switch {
	case h.full:
	case h.size+len(data) > runner.MaxTypeAhead:
		h.full = true
		log.Warn("input for an execution that has not reached this device yet passes the most kept; dropping input until it comes",
			"execution", exec, "kept", h.size, "most", runner.MaxTypeAhead)
	case slices.Contains(h.keys, k):
		// The same message twice.
	default:
		h.keys = append(h.keys, k)
		h.data = append(h.data, data)
		h.size += len(data)
	}
}

// take removes and returns the input held for exec: in the order it came,
// except that each viewer's keys are in the order of their numbers, which
// is the order they were typed in. Call with t.mu.
func (t *typeAhead) take(exec string, now time.Time, log *slog.Logger) []byte {
	t.expire(now, log)
	h := t.held[exec]
	if h == nil {
		return nil
	}
	delete(t.held, exec)
	// Each viewer's messages keep the places they came in, sorted among
	// themselves.
	order := make([]int, len(h.keys))
	for i := range order {
		order[i] = i
	}
	byViewer := map[string][]int{}
	for i, k := range h.keys {
		byViewer[k.viewer] = append(byViewer[k.viewer], i)
	}
	for _, places := range byViewer {
		sorted := slices.Clone(places)
		slices.SortStableFunc(sorted, func(a, b int) int {
			return cmp.Compare(h.keys[a].seq, h.keys[b].seq)
		})
		for j, p := range places {
			order[p] = sorted[j]
		}
	}
	out := make([]byte, 0, h.size)
	for _, i := range order {
		out = append(out, h.data[i]...)
	}
	return out
}

// drop forgets the input held for an execution that will never run here.
// Call with t.mu.
func (t *typeAhead) drop(exec string, log *slog.Logger) {
	if h := t.held[exec]; h != nil {
		delete(t.held, exec)
		log.Debug("dropping the input held for an execution that will not run here", "execution", exec, "bytes", h.size)
	}
}

// expire forgets input that waited for its dispatch longer than holdFor.
// Call with t.mu.
func (t *typeAhead) expire(now time.Time, log *slog.Logger) {
	for exec, h := range t.held {
		if now.Sub(h.first) > holdFor {
			delete(t.held, exec)
			log.Debug("dropping input that waited too long for its execution to reach this device", "execution", exec, "waited", holdFor)
		}
	}
}
