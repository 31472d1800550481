package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/runlet/runlet/internal/atomicfile"
)

// stateFile is the name of the cursors' file in a spool's directory.
const stateFile = "state"

// state is what the spool keeps beside its segments.
type state struct {
	// Acked: every record ≤ Acked was confirmed by the broker.
	Acked uint64 `json:"acked"`
	// DroppedThrough: every record ≤ it was dropped for lack of room
	// (or acknowledged before).
	DroppedThrough uint64 `json:"dropped_through"`
	// Dropped counts the records dropped for lack of room, ever.
	Dropped uint64 `json:"dropped"`
	// LastDrop is the unix time in milliseconds of the last drop, or 0.
	LastDrop int64 `json:"last_drop,omitempty"`
}

// floor is the seq below which (inclusive) nothing is pending.
func (st state) floor() uint64 { return max(st.Acked, st.DroppedThrough) }

// readState reads dir's state file. A missing file is the zero state;
// a damaged one is the zero state and an error that says so, for the log.
func readState(dir string) (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return state{}, fmt.Errorf("the spool's state file %s is damaged (%w): records already sent may be sent again", filepath.Join(dir, stateFile), err)
	}
	return st, nil
}

// writeState replaces dir's state file, durably.
func writeState(dir string, st state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, stateFile), b); err != nil {
		return fmt.Errorf("write the spool's state in %s: %w", dir, err)
	}
	return nil
}
