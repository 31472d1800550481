package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
)

// records keeps, one file per execution, the latest status of every
// execution this device took: it makes dispatch idempotent across restarts
// and tells a starting daemon which executions its predecessor left
// unfinished (R-JOB-8).
type records struct {
	dir string
	mu  sync.Mutex // serialises writes of one file by two transitions
}

// keepRecords is how long the record of an ended execution is kept: as long
// as its dispatch could still be redelivered.
const keepRecords = bus.DefaultMaxAge

func openRecords(dir string) (*records, error) {
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	return &records{dir: dir}, nil
}

func (r *records) path(id string) string { return filepath.Join(r.dir, id+".json") }

// put records e's state. A record only moves forward: an older transition
// reported late does not overwrite a final one.
func (r *records) put(e runlet.Execution) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok, _ := r.get(e.ID); ok && old.Status.Final() && !e.Status.Final() {
		return nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := writeFileSync(r.path(e.ID), b); err != nil {
		return fmt.Errorf("daemon: record execution %s: %w", e.ID, err)
	}
	return nil
}

// get reads the record of execution id.
func (r *records) get(id string) (runlet.Execution, bool, error) {
	b, err := os.ReadFile(r.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return runlet.Execution{}, false, nil
	}
	if err != nil {
		return runlet.Execution{}, false, fmt.Errorf("daemon: read the record of execution %s: %w", id, err)
	}
	var e runlet.Execution
	if err := json.Unmarshal(b, &e); err != nil {
		return runlet.Execution{}, false, fmt.Errorf("daemon: damaged record %s: %w", r.path(id), err)
	}
	return e, true, nil
}

// known reports whether execution id was taken by this device before.
func (r *records) known(id string) bool {
	_, err := os.Stat(r.path(id))
	return err == nil
}

// unfinished returns the executions recorded as not ended, and removes the
// records of executions ended longer ago than keepRecords.
func (r *records) unfinished(now time.Time) ([]runlet.Execution, error) {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("daemon: read execution records: %w", err)
	}
	var out []runlet.Execution
	for _, de := range entries {
		id, ok := strings.CutSuffix(de.Name(), ".json")
		if !ok || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		e, _, err := r.get(id)
		if err != nil {
			// A record torn by a crash in the middle of a write cannot be
			// (writes are atomic); anything else is not ours to judge.
			continue
		}
		switch {
		case !e.Status.Final():
			out = append(out, e)
		case now.Sub(e.Finished) > keepRecords:
			_ = os.Remove(r.path(id))
		}
	}
	return out, nil
}
