package viewer

import (
	"slices"
	"testing"

	"github.com/runlet/runlet/wire"
)

// step is one input to a sequencer: a frame, or the end marker when end.
type step struct {
	seq  uint64
	end  bool
	last uint64
}

func TestSequencer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		steps     []step
		delivered []uint64
		gap, done bool
	}{
		{name: "in order", steps: []step{{seq: 1}, {seq: 2}, {seq: 3}, {end: true, last: 3}},
			delivered: []uint64{1, 2, 3}, done: true},
		{name: "nothing printed", steps: []step{{end: true, last: 0}}, done: true},
		{name: "swapped", steps: []step{{seq: 2}, {seq: 1}, {seq: 3}},
			delivered: []uint64{1, 2, 3}},
		{name: "reversed", steps: []step{{seq: 4}, {seq: 3}, {seq: 2}, {seq: 1}},
			delivered: []uint64{1, 2, 3, 4}},
		{name: "duplicates", steps: []step{{seq: 1}, {seq: 1}, {seq: 3}, {seq: 3}, {seq: 2}, {seq: 2}, {seq: 1}},
			delivered: []uint64{1, 2, 3}},
		{name: "gap waits", steps: []step{{seq: 1}, {seq: 3}, {seq: 4}},
			delivered: []uint64{1}, gap: true},
		{name: "gap filled", steps: []step{{seq: 1}, {seq: 3}, {seq: 4}, {seq: 2}},
			delivered: []uint64{1, 2, 3, 4}},
		{name: "end before the last frame", steps: []step{{seq: 1}, {end: true, last: 2}},
			delivered: []uint64{1}, gap: true},
		{name: "end then missing frame", steps: []step{{seq: 1}, {end: true, last: 2}, {seq: 2}},
			delivered: []uint64{1, 2}, done: true},
		{name: "end first", steps: []step{{end: true, last: 2}, {seq: 2}, {seq: 1}},
			delivered: []uint64{1, 2}, done: true},
		{name: "frames past the end are dropped", steps: []step{{end: true, last: 1}, {seq: 3}, {seq: 1}},
			delivered: []uint64{1}, done: true},
		{name: "buffered frames past a late end are dropped", steps: []step{{seq: 3}, {end: true, last: 1}, {seq: 1}},
			delivered: []uint64{1}, done: true},
		{name: "second end marker ignored", steps: []step{{end: true, last: 2}, {end: true, last: 5}, {seq: 1}, {seq: 2}},
			delivered: []uint64{1, 2}, done: true},
		{name: "only the first frame missing", steps: []step{{seq: 2}, {seq: 3}, {end: true, last: 3}},
			gap: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSequencer()
			var got []uint64
			for _, st := range tc.steps {
				if st.end {
					s.end(st.last)
					continue
				}
				for _, f := range s.add(wire.Frame{Seq: st.seq, Data: []byte{byte(st.seq)}}) {
					if f.Data[0] != byte(f.Seq) {
						t.Fatalf("frame %d carries the data of another", f.Seq)
					}
					got = append(got, f.Seq)
				}
			}
			if !slices.Equal(got, tc.delivered) {
				t.Errorf("delivered %v, want %v", got, tc.delivered)
			}
			if s.gap() != tc.gap || s.done() != tc.done {
				t.Errorf("gap=%v done=%v, want gap=%v done=%v", s.gap(), s.done(), tc.gap, tc.done)
			}
			if d := s.delivered(); d != uint64(len(got)) {
				t.Errorf("delivered() = %d after %d frames", d, len(got))
			}
		})
	}
}

func TestSequencerBoundsWhatItHolds(t *testing.T) {
	s := newSequencer()
	for seq := uint64(2); seq < maxAhead+10; seq++ {
		s.add(wire.Frame{Seq: seq})
	}
	if len(s.ahead) != maxAhead {
		t.Fatalf("holds %d frames ahead, want at most %d", len(s.ahead), maxAhead)
	}
	if got := s.add(wire.Frame{Seq: 1}); len(got) != maxAhead+1 {
		t.Fatalf("delivered %d frames once the first arrived, want %d", len(got), maxAhead+1)
	}
}
