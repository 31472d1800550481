package daemon

import (
	"sync"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/runner"
)

// A job has one terminal, and its viewers' windows may all differ (a
// laptop, a phone). The job takes the size of the viewer that acted most
// recently, as tmux's "window-size latest": a viewer acts when it types
// or when it joins to type (a CLI's attach or @run: a resize marked
// Active). A viewer sends its size when it opens and each time its window
// changes; the job follows those changes while that viewer is the one
// that acted last, and takes a viewer's size back when it types again. So
// a phone that opens the page to watch does not shrink htop for the
// person at the laptop; once the phone types, htop is the phone's size
// until the laptop types. A viewer whose size is unknown (its input is not
// a terminal) never sets the size. A resize that names no viewer applies
// at once, as before viewers had names.
//
// A full-screen program redraws itself at the new size (SIGWINCH), after
// the runner's margin reset (runner.MarginReset), so that every viewer's
// terminal, and a late viewer's replay, shows what it drew.

// maxViewerSizes bounds the viewers remembered per execution: past it, the
// one heard from longest ago is forgotten.
const maxViewerSizes = 32

// windowSizes is, per execution in the runner, each viewer's window size
// and who acted last. Its mutex also orders the resizes it makes.
type windowSizes struct {
	mu    sync.Mutex
	execs map[string]*viewerSizes
}

// viewerSizes is what windowSizes knows of one execution's viewers.
type viewerSizes struct {
	sizes  map[string]viewerSize // by viewer id
	heard  uint64                // counts the resizes, to find the oldest
	active string                // the viewer that acted last, "" if none yet
}

type viewerSize struct {
	size  runlet.Size
	heard uint64
}

// resize records viewer's window size for x and applies it if viewer acts
// now (active) or is the one that acted last. Without a viewer it applies
// at once.
func (w *windowSizes) resize(x *runner.Execution, viewer string, size runlet.Size, active bool) error {
	if viewer == "" {
		return x.Resize(size)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if ended(x) {
		return x.Resize(size) // ECONFLICT, and nothing to remember
	}
	v := w.of(x.ID())
	v.remember(viewer, size)
	if active {
		v.active = viewer
	}
	if v.active != viewer {
		return nil
	}
	return x.Resize(size)
}

// typed makes viewer, who typed into x, the one that acted last, and gives
// x its size first if it differs; nothing when its size is unknown.
func (w *windowSizes) typed(x *runner.Execution, viewer string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	v := w.execs[x.ID()]
	if v == nil || ended(x) {
		return nil
	}
	s, ok := v.sizes[viewer]
	if !ok {
		return nil
	}
	v.active = viewer
	if s.size == x.Size() {
		return nil
	}
	return x.Resize(s.size)
}

// forget drops what is known of an execution that has left the runner.
func (w *windowSizes) forget(exec string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.execs, exec)
}

// of returns the viewers of exec, adding it. Call with w.mu.
func (w *windowSizes) of(exec string) *viewerSizes {
	v := w.execs[exec]
	if v == nil {
		if w.execs == nil {
			w.execs = map[string]*viewerSizes{}
		}
		v = &viewerSizes{sizes: map[string]viewerSize{}}
		w.execs[exec] = v
	}
	return v
}

// remember records viewer's size, forgetting the viewer heard from
// longest ago (never the active one) when there are too many.
func (v *viewerSizes) remember(viewer string, size runlet.Size) {
	v.heard++
	if _, known := v.sizes[viewer]; !known && len(v.sizes) >= maxViewerSizes {
		oldest := ""
		for id, s := range v.sizes {
			if id != v.active && (oldest == "" || s.heard < v.sizes[oldest].heard) {
				oldest = id
			}
		}
		delete(v.sizes, oldest)
	}
	v.sizes[viewer] = viewerSize{size: size, heard: v.heard}
}

// ended reports whether x has ended: it takes no size any more.
func ended(x *runner.Execution) bool {
	select {
	case <-x.Done():
		return true
	default:
		return false
	}
}
