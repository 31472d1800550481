package viewer

import "github.com/runlet/runlet/wire"

// maxAhead bounds the frames held while waiting for a missing one: past it,
// later frames are dropped and the replay that fills the gap brings them
// again.
const maxAhead = 1 << 16

// sequencer puts frames that arrive from two sources (live output and
// replays), out of order, duplicated or with gaps, back into one sequence
// without gaps or duplicates. It is not safe for concurrent use.
type sequencer struct {
	next  uint64 // the next sequence number to deliver; frames start at 1
	ahead map[uint64]wire.Frame
	ended bool   // the end marker arrived
	last  uint64 // the end marker's final sequence number
}

func newSequencer() *sequencer {
	return &sequencer{next: 1, ahead: map[uint64]wire.Frame{}}
}

// add takes one frame and returns the frames that can now be delivered, in
// order: none when f is a duplicate or arrives ahead of a missing one.
func (s *sequencer) add(f wire.Frame) []wire.Frame {
	switch {
	case f.Seq < s.next:
		return nil // delivered already
	case s.ended && f.Seq > s.last:
		return nil // past the end: not part of this output
	case f.Seq > s.next:
		if len(s.ahead) < maxAhead {
			s.ahead[f.Seq] = f
		}
		return nil
	}
	out := []wire.Frame{f}
	s.next++
	for {
		g, ok := s.ahead[s.next]
		if !ok {
			break
		}
		delete(s.ahead, s.next)
		out = append(out, g)
		s.next++
	}
	return out
}

// end records the end marker: last is the final sequence number (0 when
// the execution printed nothing).
func (s *sequencer) end(last uint64) {
	if s.ended {
		return
	}
	s.ended, s.last = true, last
	for seq := range s.ahead {
		if seq > last {
			delete(s.ahead, seq)
		}
	}
}

// done reports whether every frame up to the end marker's was delivered.
func (s *sequencer) done() bool { return s.ended && s.next > s.last }

// gap reports whether a frame is known to be missing: later ones wait, or
// the end marker names one not delivered yet.
func (s *sequencer) gap() bool { return len(s.ahead) > 0 || (s.ended && !s.done()) }

// delivered is the sequence number of the last frame delivered.
func (s *sequencer) delivered() uint64 { return s.next - 1 }
