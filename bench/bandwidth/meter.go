package main

import (
	"cmp"
	"maps"
	"slices"
	"sync"
)

// Directions of the bytes a meter counts, as the device sees them.
const (
	up   = 0 // device → broker (or server)
	down = 1 // broker → device
)

// tally is what one source of traffic cost in each direction.
type tally struct {
	Bytes [2]int64 // TCP payload bytes: up, down
	Msgs  [2]int64 // protocol messages or frames: up, down
}

// meter adds up the bytes of every connection through the proxies, per
// source (a category named by the protocol parsers).
type meter struct {
	mu     sync.Mutex
	by     map[string]*tally
	conns  int
	total  [2]int64
	reads  [2]int64 // reads of the relay: about one per TCP segment when idle
	parsed [2]int64 // bytes the parsers attributed; the rest is "unparsed"
}

func newMeter() *meter { return &meter{by: map[string]*tally{}} }

// add counts n bytes of one message of source cat in direction dir.
func (m *meter) add(cat string, dir int, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.by[cat]
	if t == nil {
		t = &tally{}
		m.by[cat] = t
	}
	t.Bytes[dir] += n
	t.Msgs[dir]++
	m.parsed[dir] += n
}

// addContent counts n more bytes of the message of source cat in
// direction dir that add counted last (an AMQP content frame).
func (m *meter) addContent(cat string, dir int, n int64) {
	m.add(cat, dir, n)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.by[cat].Msgs[dir]--
}

// raw counts n bytes as they cross the proxy, whatever they hold.
func (m *meter) raw(dir int, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.total[dir] += n
	m.reads[dir]++
}

func (m *meter) connected() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.conns++
}

// snapshot is the meter's counts at one instant.
type snapshot struct {
	By    map[string]tally
	Conns int
	Total [2]int64
	Reads [2]int64
	// Unparsed is what crossed the proxy but no parser has attributed
	// yet (a message cut in two at the instant of the snapshot).
	Unparsed [2]int64
}

func (m *meter) snapshot() snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := snapshot{By: map[string]tally{}, Conns: m.conns, Total: m.total, Reads: m.reads}
	for k, v := range m.by {
		s.By[k] = *v
	}
	for d := range 2 {
		s.Unparsed[d] = m.total[d] - m.parsed[d]
	}
	return s
}

// since is what was counted between earlier and s.
func (s snapshot) since(earlier snapshot) snapshot {
	d := snapshot{By: map[string]tally{}, Conns: s.Conns - earlier.Conns}
	for k, v := range s.By {
		e := earlier.By[k]
		var t tally
		for i := range 2 {
			t.Bytes[i] = v.Bytes[i] - e.Bytes[i]
			t.Msgs[i] = v.Msgs[i] - e.Msgs[i]
		}
		if t != (tally{}) {
			d.By[k] = t
		}
	}
	for i := range 2 {
		d.Total[i] = s.Total[i] - earlier.Total[i]
		d.Reads[i] = s.Reads[i] - earlier.Reads[i]
		d.Unparsed[i] = s.Unparsed[i] - earlier.Unparsed[i]
	}
	return d
}

// sources are the categories of s, the costliest first.
func (s snapshot) sources() []string {
	keys := slices.Collect(maps.Keys(s.By))
	slices.SortFunc(keys, func(a, b string) int {
		ta, tb := s.By[a], s.By[b]
		if c := cmp.Compare(tb.Bytes[0]+tb.Bytes[1], ta.Bytes[0]+ta.Bytes[1]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return keys
}

// ipOverhead estimates the IP and TCP headers of s's traffic: 52 bytes
// (IPv4 20, TCP 20 with timestamps 12) for each data segment, taken as one
// per read of the relay (idle traffic is a message at a time), and as
// many for a pure ACK answering each: an upper bound, as delayed ACKs ride
// on data going the other way when there is some.
func (s snapshot) ipOverhead() int64 {
	const header = 52
	return 2 * header * (s.Reads[up] + s.Reads[down])
}
